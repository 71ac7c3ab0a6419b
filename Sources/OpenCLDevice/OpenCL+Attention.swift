import Core

// Fused attention on OpenCL: Kernels/attention.cl, specified by Reference+Attention.swift.

extension OpenCLDevice {
    /// Fused attention (see `Device.attention`) with this device's `tuning.attention(headDim:)`.
    public func attention(
        _ shape: AttentionShape, q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, masks: AttentionMasks,
        out: DeviceBuffer, logSumExp: DeviceBuffer
    ) throws {
        try attention(
            shape, q: q, k: k, v: v, masks: masks, out: out, logSumExp: logSumExp,
            tuning: tuning.attention(headDim: shape.headDim))
    }

    /// Gradients of `attention` (see `Device.attentionBackward`) with this device's
    /// `tuning.attention(headDim:)`.
    public func attentionBackward(
        _ shape: AttentionShape, q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, masks: AttentionMasks,
        out: DeviceBuffer, logSumExp: DeviceBuffer, dOut: DeviceBuffer,
        dq: DeviceBuffer, dk: DeviceBuffer, dv: DeviceBuffer
    ) throws {
        try attentionBackward(
            shape, q: q, k: k, v: v, masks: masks, out: out, logSumExp: logSumExp, dOut: dOut, dq: dq, dk: dk, dv: dv,
            tuning: tuning.attention(headDim: shape.headDim))
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
