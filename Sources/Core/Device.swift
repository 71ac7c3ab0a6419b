/// A place where tensors live and operations run: the OpenCL device (any GPU, or PoCL on the
/// CPU) or the plain-Swift reference device, which is the executable specification of every
/// operation here and the oracle of the tests.
///
/// Conventions for every operation:
/// - Buffers are row-major and contiguous; counts and shapes are in elements.
/// - Outputs are overwritten, never accumulated into, unless the method says otherwise
///   (`copy2D(accumulate:)`, `matmul`'s β). Elementwise operations allow the output to be
///   the input buffer; other operations need distinct outputs.
/// - Operations are queued in order; `read` waits for everything before it.
/// - Reductions run in a fixed order: the same inputs give the same bits every time.
public protocol Device: AnyObject {
    /// The device's name as people see it (e.g. "pthread-AMD EPYC (PoCL)" or "reference").
    var name: String { get }
    /// Elements that a view's offset must be a multiple of (see `makeView`).
    var viewAlignment: Int { get }
    /// Bytes allocated now, and the most ever allocated at once.
    var memoryInUse: Int { get }
    var peakMemoryInUse: Int { get }
    /// Bytes of memory the device has in all (OpenCL's `CL_DEVICE_GLOBAL_MEM_SIZE`; the host's
    /// physical memory for the reference device), or `nil` when unknown. Runs are checked against
    /// it before they allocate (see `MemoryEstimate`).
    var memoryCapacity: Int? { get }

    // MARK: Memory

    /// A new buffer of `count` elements, zero-filled. `label` names it in errors and reports.
    func makeBuffer(count: Int, dtype: DType, label: String) throws -> DeviceBuffer
    /// A buffer sharing the memory of `buffer` from element `offset` (a multiple of
    /// `viewAlignment`) for `count` elements: how parameters are views into one flat buffer.
    func makeView(of buffer: DeviceBuffer, offset: Int, count: Int, label: String) throws -> DeviceBuffer
    /// Copies host values into the buffer (float32 buffers).
    func write(_ values: [Float], to buffer: DeviceBuffer) throws
    /// Copies host values into the buffer (int32 buffers).
    func write(_ values: [Int32], to buffer: DeviceBuffer) throws
    /// The buffer's values (float32 buffers), after all queued work.
    func readFloats(_ buffer: DeviceBuffer) throws -> [Float]
    /// The buffer's values (int32 buffers), after all queued work.
    func readInts(_ buffer: DeviceBuffer) throws -> [Int32]
    /// Waits for all queued work.
    func synchronize() throws

    // MARK: Elementwise and reduction (Kernels/elementwise.cl, Kernels/activations.cl)

    /// Sets `count` elements from `offset` to `value`.
    func fill(_ buffer: DeviceBuffer, value: Float, offset: Int, count: Int) throws
    /// Copies a `rows`×`columns` block: dst[dstOffset + r·dstRowStride + c] (+)= src[srcOffset +
    /// r·srcRowStride + c]. Slices, concatenations and their gradients are made of this.
    func copy2D(
        from source: DeviceBuffer, sourceOffset: Int, sourceRowStride: Int,
        to destination: DeviceBuffer, destinationOffset: Int, destinationRowStride: Int,
        rows: Int, columns: Int, accumulate: Bool) throws
    /// out = a ∘ b elementwise, broadcast by `shape`.
    func binary(_ op: BinaryOp, _ a: DeviceBuffer, _ b: DeviceBuffer, out: DeviceBuffer, shape: BroadcastShape) throws
    /// out = f(x) for `count` elements.
    func unary(_ op: UnaryOp, _ x: DeviceBuffer, out: DeviceBuffer, count: Int) throws
    /// dx = dy · f′(x) for `count` elements (for `clamp`, f′ is 1 inside the bounds, else 0;
    /// for `relu`, 1 where x > 0).
    func unaryBackward(_ op: UnaryOp, x: DeviceBuffer, dy: DeviceBuffer, dx: DeviceBuffer, count: Int) throws
    /// Sums the middle axis: x viewed as [outer, reduced, inner] gives out [outer, inner].
    func reduceSum(_ x: DeviceBuffer, out: DeviceBuffer, outer: Int, reduced: Int, inner: Int) throws
    /// out[0] = Σ x[i]² over `count` elements (for the global gradient norm).
    func sumOfSquares(_ x: DeviceBuffer, count: Int, out: DeviceBuffer) throws
    /// y = x·keep/(1−p) where keep = `DropoutMask.uniform(seed, i) ≥ p`; the backward pass is
    /// the same call on dy with the same seed.
    func dropout(_ x: DeviceBuffer, out: DeviceBuffer, count: Int, probability: Float, seed: UInt64) throws

    // MARK: Matrix product (Kernels/matmul.cl)

    /// C = α·op(A)·op(B) + β·C per `shape` (see `MatmulShape`).
    func matmul(_ shape: MatmulShape, a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer) throws

    // MARK: Softmax and losses (Kernels/softmax.cl)

    /// Softmax (or log-softmax when `log`) over the last axis of a [rows, columns] matrix.
    func softmax(_ x: DeviceBuffer, out: DeviceBuffer, rows: Int, columns: Int, log: Bool) throws
    /// Gradient of `softmax` from its output y: dx = y⊙(dy − Σ dy⊙y), or for log-softmax
    /// dx = dy − exp(y)·Σ dy.
    func softmaxBackward(y: DeviceBuffer, dy: DeviceBuffer, dx: DeviceBuffer, rows: Int, columns: Int, log: Bool) throws
    /// Per row r: logSumExp[r] = log Σ exp(logits[r]); losses[r] = logSumExp[r] − logits[r, t]
    /// with t = targets[r], or 0 when t == `ignoreIndex`. Targets outside [0, columns) other than
    /// the ignore index are an error of the caller.
    func crossEntropy(
        logits: DeviceBuffer, targets: DeviceBuffer, losses: DeviceBuffer, logSumExp: DeviceBuffer,
        rows: Int, columns: Int, ignoreIndex: Int32) throws
    /// dLogits[r] = dLosses[r]·(softmax(logits[r]) − onehot(t)), zero for ignored rows.
    func crossEntropyBackward(
        logits: DeviceBuffer, targets: DeviceBuffer, logSumExp: DeviceBuffer, dLosses: DeviceBuffer,
        dLogits: DeviceBuffer, rows: Int, columns: Int, ignoreIndex: Int32) throws

    // MARK: Normalisation (Kernels/normalization.cl)

    /// y = (x − μ)/√(σ² + ε)·w + b per row (biased variance); saves μ and 1/√(σ² + ε) per row.
    func layerNorm(
        _ x: DeviceBuffer, weight: DeviceBuffer, bias: DeviceBuffer, out: DeviceBuffer,
        mean: DeviceBuffer, rstd: DeviceBuffer, rows: Int, columns: Int, epsilon: Float) throws
    /// Gradients of `layerNorm`: dx per row; dWeight and dBias summed over rows.
    func layerNormBackward(
        _ x: DeviceBuffer, weight: DeviceBuffer, mean: DeviceBuffer, rstd: DeviceBuffer, dy: DeviceBuffer,
        dx: DeviceBuffer, dWeight: DeviceBuffer, dBias: DeviceBuffer, rows: Int, columns: Int) throws
    /// y = w ⊙ x/√(mean(x²) + ε) per row; saves 1/√(mean(x²) + ε) per row.
    func rmsNorm(
        _ x: DeviceBuffer, weight: DeviceBuffer, out: DeviceBuffer, rstd: DeviceBuffer,
        rows: Int, columns: Int, epsilon: Float) throws
    /// Gradients of `rmsNorm`: dx per row; dWeight summed over rows.
    func rmsNormBackward(
        _ x: DeviceBuffer, weight: DeviceBuffer, rstd: DeviceBuffer, dy: DeviceBuffer,
        dx: DeviceBuffer, dWeight: DeviceBuffer, rows: Int, columns: Int) throws

    // MARK: Embedding and rotary positions (Kernels/embedding.cl)

    /// out[i] = table[ids[i]] for `count` ids, rows of `dimension`.
    func embedding(table: DeviceBuffer, ids: DeviceBuffer, out: DeviceBuffer, count: Int, dimension: Int) throws
    /// dTable (all `rows` rows, overwritten) = Σ over i with ids[i] = row of dOut[i].
    func embeddingBackward(
        ids: DeviceBuffer, dOut: DeviceBuffer, dTable: DeviceBuffer, count: Int, dimension: Int, rows: Int) throws
    /// Rotary embedding, Hugging Face "rotate_half" convention, on x [tokens, heads, headDim]:
    /// for i < headDim/2 with φ = positions[token]·invFrequencies[i],
    /// y_i = x_i·cos φ − x_{i+d/2}·sin φ and y_{i+d/2} = x_{i+d/2}·cos φ + x_i·sin φ.
    /// `inverse` rotates by −φ, which is the backward pass.
    func rope(
        _ x: DeviceBuffer, out: DeviceBuffer, positions: DeviceBuffer, invFrequencies: DeviceBuffer,
        tokens: Int, heads: Int, headDim: Int, inverse: Bool) throws

    // MARK: Attention (Kernels/attention.cl)

    /// Fused attention (see `AttentionShape` for layouts and masking); writes out and the
    /// per-row log-sum-exp of the scaled, masked scores, which the backward pass reuses.
    func attention(
        _ shape: AttentionShape, q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, masks: AttentionMasks,
        out: DeviceBuffer, logSumExp: DeviceBuffer) throws
    /// Gradients of `attention`, recomputing the probabilities from q, k and logSumExp rather
    /// than storing them. dk and dv are per key/value head (summed over the heads that share it).
    func attentionBackward(
        _ shape: AttentionShape, q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, masks: AttentionMasks,
        out: DeviceBuffer, logSumExp: DeviceBuffer, dOut: DeviceBuffer,
        dq: DeviceBuffer, dk: DeviceBuffer, dv: DeviceBuffer) throws

    // MARK: Optimizer (Kernels/optimizer.cl)

    /// One fused AdamW update of `count` elements of the flat buffers (see `AdamWStep`);
    /// weight decay applies to the first `decayCount` elements only.
    func adamW(
        parameters: DeviceBuffer, gradients: DeviceBuffer, firstMoment: DeviceBuffer, secondMoment: DeviceBuffer,
        count: Int, decayCount: Int, step: AdamWStep) throws
}
