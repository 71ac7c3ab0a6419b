import Core

/// How a linear layer stores its weight.
public enum WeightLayout: Sendable {
    /// [in, out], y = x·W + b: GPT-2's `Conv1D` (`c_attn`, `c_proj`, `c_fc`).
    case inputOutput
    /// [out, in], y = x·Wᵀ + b: `nn.Linear` (Llama's projections, `lm_head`, `score`, LoRA's A and B).
    case outputInput
}

extension Tensor {
    /// The matrix product over the last two axes, batched over the leading ones:
    /// op(a)·op(b), where op transposes the last two axes when asked.
    ///
    /// a is [..., m, k] (or [..., k, m] with `transposeA`), b is [..., k, n] (or [..., n, k]
    /// with `transposeB`). The leading (batch) dimensions must be equal, or one operand is a
    /// plain matrix shared by every batch item (a weight); the result is [batch..., m, n].
    /// A shared right operand with an untransposed left one is folded into one large product.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws
        -> Tensor
    {
        try a.requireSameDevice([b], "matmul")
        let plan = try ProductPlan(a.shape, b.shape, transposeA: transposeA, transposeB: transposeB)
        return try product(a, b, bias: nil, plan: plan, name: "matmul")
    }

    /// A linear layer: x [..., in] times the weight (stored as `layout` says), plus an optional
    /// bias [out]; the result is [..., out]. The bias is written first and the product added
    /// onto it (`matmul`'s β = 1), so the layer is one node and one pass over its output.
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, layout: WeightLayout) throws -> Tensor {
        try x.requireSameDevice([weight] + (bias.map { [$0] } ?? []), "linear")
        guard weight.rank == 2 else {
            throw DeviceError.invalidArgument(
                operation: "linear", message: "weight '\(weight.label)' has shape \(weight.shape); needs 2 dimensions")
        }
        let inputs = x.shape.last ?? 1
        let rows = x.count / inputs
        let transposeB = layout == .outputInput
        let plan = try ProductPlan(
            [rows, inputs], weight.shape, transposeA: false, transposeB: transposeB, name: "linear")
        if let bias, bias.count != plan.n {
            throw DeviceError.shapeMismatch(operation: "linear bias '\(bias.label)'", lhs: bias.shape, rhs: [plan.n])
        }
        let out = try product(x, weight, bias: bias, plan: plan, name: "linear")
        return try out.reshaped(x.shapeWithLast(plan.n))
    }

    /// op(a)·op(b) (+ bias broadcast over rows) as planned, recorded with its gradients.
    private static func product(_ a: Tensor, _ b: Tensor, bias: Tensor?, plan: ProductPlan, name: String) throws
        -> Tensor
    {
        let device = a.device
        let out = try Tensor.output(device, plan.outputShape, name)
        if let bias {
            // Every row of the output starts as the bias (a source row stride of 0 repeats it).
            try device.copy2D(
                from: bias.buffer, sourceOffset: 0, sourceRowStride: 0, to: out.buffer, destinationOffset: 0,
                destinationRowStride: plan.n, rows: out.count / plan.n, columns: plan.n, accumulate: false)
        }
        try device.matmul(plan.forward(beta: bias == nil ? 0 : 1), a: a.buffer, b: b.buffer, c: out.buffer)

        let aSaved = b.requiresGrad ? a.detached() : nil
        let bSaved = a.requiresGrad ? b.detached() : nil
        let hasBias = bias != nil
        return out.recorded(name, inputs: [a, b] + (bias.map { [$0] } ?? [])) { dc, sink in
            if let bSaved, sink.needsGradient(0) {
                try sink.add(
                    to: 0,
                    accumulating: { da, accumulate in
                        try plan.gradientOfA(device, dc: dc.buffer, b: bSaved.buffer, into: da, accumulate: accumulate)
                    })
            }
            if let aSaved, sink.needsGradient(1) {
                try sink.add(
                    to: 1,
                    accumulating: { db, accumulate in
                        try plan.gradientOfB(device, dc: dc.buffer, a: aSaved.buffer, into: db, accumulate: accumulate)
                    })
            }
            if hasBias, sink.needsGradient(2) {
                try sink.add(
                    to: 2,
                    overwriting: { dBias in
                        try device.reduceSum(dc.buffer, out: dBias, outer: 1, reduced: dc.count / plan.n, inner: plan.n)
                    })
            }
        }
    }
}

/// One (batched) product C = op(A)·op(B) in the terms of `MatmulShape`, and its gradients.
///
/// With dC the gradient of C [m, n] per batch item:
/// dA = dC·op(B)ᵀ, stored transposed when A is (dA[k,m] = op(B)·dCᵀ);
/// dB = op(A)ᵀ·dC, stored transposed when B is (dB[n,k] = dCᵀ·op(A)).
/// An operand shared by all batch items (stride 0) gets the sum over items.
struct ProductPlan {
    var batch: Int
    var m: Int
    var n: Int
    var k: Int
    var transposeA: Bool
    var transposeB: Bool
    /// Elements between batch items (0 for an operand shared by all).
    var strideA: Int
    var strideB: Int
    var outputShape: [Int]

    init(_ a: [Int], _ b: [Int], transposeA: Bool, transposeB: Bool, name: String = "matmul") throws {
        guard a.count >= 2, b.count >= 2 else {
            throw DeviceError.invalidArgument(
                operation: name, message: "operands \(a) and \(b) need at least 2 dimensions")
        }
        let (ar, ac) = (a[a.count - 2], a[a.count - 1])
        let (br, bc) = (b[b.count - 2], b[b.count - 1])
        m = transposeA ? ac : ar
        k = transposeA ? ar : ac
        n = transposeB ? br : bc
        guard (transposeB ? bc : br) == k else {
            throw DeviceError.shapeMismatch(operation: name + " (inner dimensions)", lhs: a, rhs: b)
        }
        let aBatch = Array(a.dropLast(2))
        let bBatch = Array(b.dropLast(2))
        let sharedA = aBatch.isEmpty && !bBatch.isEmpty
        let sharedB = bBatch.isEmpty
        guard sharedA || sharedB || aBatch == bBatch else {
            throw DeviceError.shapeMismatch(operation: name + " (batch dimensions)", lhs: a, rhs: b)
        }
        let batchShape = sharedB ? aBatch : bBatch
        outputShape = batchShape + [m, n]
        batch = batchShape.reduce(1, *)
        self.transposeA = transposeA
        self.transposeB = transposeB
        if sharedB && !transposeA {
            // [batch, m, k] is a contiguous [batch·m, k]: one large product, no batch.
            m *= batch
            batch = 1
        }
        strideA = sharedA || batch == 1 ? 0 : m * k
        strideB = sharedB || batch == 1 ? 0 : k * n
    }

    /// The forward product; β = 1 adds onto what C holds (the bias).
    func forward(beta: Float) -> MatmulShape {
        MatmulShape(
            batch: batch, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
            strideA: strideA, strideB: strideB, strideC: batch == 1 ? 0 : m * n, beta: beta)
    }

    /// Writes (or adds) dA.
    func gradientOfA(_ device: Device, dc: DeviceBuffer, b: DeviceBuffer, into da: DeviceBuffer, accumulate: Bool)
        throws
    {
        let outStride = strideA == 0 ? 0 : m * k
        if transposeA {
            try product(
                device, b, strideB, dc, m * n, transposeB, true, m: k, n: m, k: n, into: da, stride: outStride,
                accumulate: accumulate)
        } else {
            try product(
                device, dc, m * n, b, strideB, false, !transposeB, m: m, n: k, k: n, into: da, stride: outStride,
                accumulate: accumulate)
        }
    }

    /// Writes (or adds) dB.
    func gradientOfB(_ device: Device, dc: DeviceBuffer, a: DeviceBuffer, into db: DeviceBuffer, accumulate: Bool)
        throws
    {
        let outStride = strideB == 0 ? 0 : k * n
        if transposeB {
            try product(
                device, dc, m * n, a, strideA, true, transposeA, m: n, n: k, k: m, into: db, stride: outStride,
                accumulate: accumulate)
        } else {
            try product(
                device, a, strideA, dc, m * n, !transposeA, false, m: k, n: n, k: m, into: db, stride: outStride,
                accumulate: accumulate)
        }
    }

    /// One batched product into `out` with item stride `stride`; a stride of 0 (a shared
    /// operand's gradient) sums the batch items, through a temporary since items cannot
    /// all add into one matrix in a single launch.
    private func product(
        _ device: Device, _ lhs: DeviceBuffer, _ lhsStride: Int, _ rhs: DeviceBuffer, _ rhsStride: Int,
        _ transposeLHS: Bool, _ transposeRHS: Bool, m: Int, n: Int, k: Int,
        into out: DeviceBuffer, stride: Int, accumulate: Bool
    ) throws {
        let single = batch == 1 || stride != 0
        let shape = MatmulShape(
            batch: batch, m: m, n: n, k: k, transposeA: transposeLHS, transposeB: transposeRHS,
            strideA: batch == 1 ? 0 : lhsStride, strideB: batch == 1 ? 0 : rhsStride,
            strideC: single ? stride : m * n, beta: accumulate && single ? 1 : 0)
        if single {
            return try device.matmul(shape, a: lhs, b: rhs, c: out)
        }
        let items = try device.makeBuffer(count: batch * m * n, dtype: .float32, label: "matmul gradient items")
        try device.matmul(shape, a: lhs, b: rhs, c: items)
        let summed =
            accumulate ? try device.makeBuffer(count: m * n, dtype: .float32, label: "matmul gradient sum") : out
        try device.reduceSum(items, out: summed, outer: 1, reduced: batch, inner: m * n)
        if accumulate {
            try device.binary(
                .add, out, summed, out: out,
                shape: BroadcastShape(dims: [1, 1, 1, m * n], aStrides: [0, 0, 0, 1], bStrides: [0, 0, 0, 1]))
        }
    }
}
