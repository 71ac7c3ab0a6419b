import COpenCL
import Core

// Fused attention on OpenCL: Kernels/attention.cl, specified by Reference+Attention.swift.

extension OpenCLDevice {
    /// Fused attention (see `Device.attention`) with this device's `attentionTuning`.
    public func attention(
        _ shape: AttentionShape, q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, masks: AttentionMasks,
        out: DeviceBuffer, logSumExp: DeviceBuffer
    ) throws {
        try attention(
            shape, q: q, k: k, v: v, masks: masks, out: out, logSumExp: logSumExp,
            tuning: attentionTuning(headDim: shape.headDim))
    }

    /// Gradients of `attention` (see `Device.attentionBackward`) with this device's `attentionTuning`.
    public func attentionBackward(
        _ shape: AttentionShape, q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, masks: AttentionMasks,
        out: DeviceBuffer, logSumExp: DeviceBuffer, dOut: DeviceBuffer,
        dq: DeviceBuffer, dk: DeviceBuffer, dv: DeviceBuffer
    ) throws {
        try attentionBackward(
            shape, q: q, k: k, v: v, masks: masks, out: out, logSumExp: logSumExp, dOut: dOut, dq: dq, dk: dk, dv: dv,
            tuning: attentionTuning(headDim: shape.headDim))
    }

    /// `attention` with explicit tile sizes (for tuning, and for tests of the other device kind's
    /// configuration).
    public func attention(
        _ shape: AttentionShape, q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, masks: AttentionMasks,
        out: DeviceBuffer, logSumExp: DeviceBuffer, tuning: AttentionTuning
    ) throws {
        let operation = "attention"
        try checkAttention(shape, masks, tuning, queries: [q, out], keys: [k, v], logSumExp: logSumExp, operation)
        let group = AttentionTuning.localSize(tuning.queryGroup, rows: shape.queryLength)
        try launch(
            "attention", "attention_forward", defines: tuning.defines(headDim: shape.headDim),
            global: [roundUp(shape.queryLength, toMultipleOf: group), shape.batch * shape.queryHeads],
            local: [group, 1],
            arguments: [.buffer(q), .buffer(k), .buffer(v)] + maskArguments(masks, placeholder: q)
                + [.buffer(out), .buffer(logSumExp)] + scalarArguments(shape, masks),
            operation: operation)
    }

    /// `attentionBackward` with explicit tile sizes. Runs the dq kernel, which also saves
    /// Δ = Σ dOut·out per row in a scratch buffer, then the dk/dv kernel, which reads it.
    public func attentionBackward(
        _ shape: AttentionShape, q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, masks: AttentionMasks,
        out: DeviceBuffer, logSumExp: DeviceBuffer, dOut: DeviceBuffer,
        dq: DeviceBuffer, dk: DeviceBuffer, dv: DeviceBuffer, tuning: AttentionTuning
    ) throws {
        let operation = "attentionBackward"
        try checkAttention(
            shape, masks, tuning, queries: [q, out, dOut, dq], keys: [k, v, dk, dv], logSumExp: logSumExp, operation)
        // OpenCL keeps the buffer alive until the queued kernels that use it have run.
        let delta = try makeBuffer(count: shape.logSumExpCount, dtype: .float32, label: "attention delta")
        let defines = tuning.defines(headDim: shape.headDim)
        let inputs: [KernelArgument] = [.buffer(q), .buffer(k), .buffer(v)] + maskArguments(masks, placeholder: q)
        let queryGroup = AttentionTuning.localSize(tuning.queryGroup, rows: shape.queryLength)
        try launch(
            "attention", "attention_backward_query", defines: defines,
            global: [roundUp(shape.queryLength, toMultipleOf: queryGroup), shape.batch * shape.queryHeads],
            local: [queryGroup, 1],
            arguments: inputs + [.buffer(out), .buffer(logSumExp), .buffer(dOut), .buffer(delta), .buffer(dq)]
                + scalarArguments(shape, masks),
            operation: operation)
        let keyGroup = AttentionTuning.localSize(tuning.keyGroup, rows: shape.keyLength)
        try launch(
            "attention", "attention_backward_key", defines: defines,
            global: [roundUp(shape.keyLength, toMultipleOf: keyGroup), shape.batch * shape.keyValueHeads],
            local: [keyGroup, 1],
            arguments: inputs + [.buffer(logSumExp), .buffer(dOut), .buffer(delta), .buffer(dk), .buffer(dv)]
                + scalarArguments(shape, masks),
            operation: operation)
    }

    /// The tile sizes this device uses for `headDim`: `AttentionTuning.cpu` or `.gpu`, with the
    /// local-memory tiles halved until they fit the device's local memory.
    public func attentionTuning(headDim: Int) throws -> AttentionTuning {
        var tuning = isCPU ? AttentionTuning.cpu : AttentionTuning.gpu
        // Rows read straight from global memory must be whole vectors of 8.
        if headDim % 8 != 0 { tuning.localTiles = true }
        guard tuning.localTiles else { return tuning }
        let paddedDim = roundUp(headDim, toMultipleOf: 8)
        let localBytes = Int(
            try OpenCLPlatforms.deviceValue(device, cl_device_info(CL_DEVICE_LOCAL_MEM_SIZE)) as cl_ulong)
        // Each kernel holds two tiles of [rows][paddedDim] floats; leave room for the compiler's own use.
        func fitting(_ rows: Int) -> Int {
            var rows = rows
            while rows > 8, 2 * rows * paddedDim * 4 > localBytes - 1024 { rows /= 2 }
            return rows
        }
        tuning.keyTile = fitting(tuning.keyTile)
        tuning.queryTile = fitting(tuning.queryTile)
        return tuning
    }

    /// Rejects sizes the kernels cannot run and buffers too small for `shape`.
    private func checkAttention(
        _ shape: AttentionShape, _ masks: AttentionMasks, _ tuning: AttentionTuning, queries: [DeviceBuffer],
        keys: [DeviceBuffer], logSumExp: DeviceBuffer, _ operation: String
    ) throws {
        try shape.validate(masks, operation: operation)
        guard tuning.isUsable(headDim: shape.headDim) else {
            throw DeviceError.invalidArgument(
                operation: operation, message: "unusable tuning \(tuning) for headDim \(shape.headDim)")
        }
        for buffer in queries { try BufferChecks.require(buffer, holds: shape.queryCount, in: operation) }
        for buffer in keys { try BufferChecks.require(buffer, holds: shape.keyCount, in: operation) }
        try BufferChecks.require(logSumExp, holds: shape.logSumExpCount, in: operation)
    }

    /// keyValid, querySegments, keySegments; an absent mask passes `placeholder`, which the
    /// kernels never read (the `masks` bits say which are real).
    private func maskArguments(_ masks: AttentionMasks, placeholder: DeviceBuffer) -> [KernelArgument] {
        [masks.keyValid, masks.querySegments, masks.keySegments].map { .buffer($0 ?? placeholder) }
    }

    /// The kernels' trailing scalars: heads, lengths, scale, causal and the mask bits.
    private func scalarArguments(_ shape: AttentionShape, _ masks: AttentionMasks) -> [KernelArgument] {
        let maskBits = (masks.keyValid != nil ? 1 : 0) | (masks.querySegments != nil ? 2 : 0)
        return [
            .int(shape.queryHeads), .int(shape.keyValueHeads), .int(shape.queryLength), .int(shape.keyLength),
            .float(shape.scale), .int(shape.causal ? 1 : 0), .int(maskBits),
        ]
    }
}

/// How Kernels/attention.cl is run: group sizes (local sizes) and tile sizes (`-D` defines).
public struct AttentionTuning: Sendable, Equatable {
    /// Work-items (query rows) per group of the forward and dq kernels; fewer when there are
    /// fewer query rows.
    public var queryGroup: Int
    /// Keys per tile of the forward and dq kernels (KEY_TILE, a multiple of 8).
    public var keyTile: Int
    /// Work-items (key rows) per group of the dk/dv kernel; fewer when there are fewer keys.
    public var keyGroup: Int
    /// Query rows per tile of the dk/dv kernel (QUERY_TILE, a multiple of 8).
    public var queryTile: Int
    /// Whether tiles are copied to local memory (LOCAL_TILES; any head dim) or their rows read
    /// from global memory (head dims that are multiples of 8).
    public var localTiles: Bool

    public init(queryGroup: Int, keyTile: Int, keyGroup: Int, queryTile: Int, localTiles: Bool) {
        self.queryGroup = queryGroup
        self.keyTile = keyTile
        self.keyGroup = keyGroup
        self.queryTile = queryTile
        self.localTiles = localTiles
    }

    /// CPUs (PoCL): local memory is ordinary memory, so rows are read in place; a group's
    /// work-items run one after another on one core, reusing each tile from the cache.
    public static let cpu = AttentionTuning(queryGroup: 64, keyTile: 32, keyGroup: 64, queryTile: 32, localTiles: false)
    /// GPUs: groups of 64 work-items share each tile through local memory.
    public static let gpu = AttentionTuning(queryGroup: 64, keyTile: 32, keyGroup: 64, queryTile: 32, localTiles: true)

    /// Whether the kernels can run with these sizes for `headDim`.
    func isUsable(headDim: Int) -> Bool {
        queryGroup > 0 && keyGroup > 0 && keyTile > 0 && queryTile > 0 && keyTile % 8 == 0 && queryTile % 8 == 0
            && (localTiles || headDim % 8 == 0)
    }

    /// Local size of a kernel over `rows` rows with groups of up to `group`: few rows (decoding)
    /// get a smaller power of two (at least 8), so that few sizes need compiling.
    static func localSize(_ group: Int, rows: Int) -> Int {
        var size = 8
        while size < rows, size < group { size *= 2 }
        return min(size, group)
    }

    func defines(headDim: Int) -> [String: String] {
        [
            "HEAD_DIM": "\(headDim)", "KEY_TILE": "\(keyTile)", "QUERY_TILE": "\(queryTile)",
            "LOCAL_TILES": localTiles ? "1" : "0",
        ]
    }
}
