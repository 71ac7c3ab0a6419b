import Core

extension Tensor {
    /// Fused causal multi-head attention with grouped key/value heads (`Kernels/attention.cl`):
    /// softmax(q·kᵀ·scale + masks)·v per head, never materialising the score matrix.
    ///
    /// query is [batch, queryLength, queryHeads, headDim] and key, value are
    /// [batch, keyLength, keyValueHeads, headDim] (the layout a projection's output has after
    /// a reshape, so no transposes are needed); the result has the query's shape. `shape` says
    /// the sizes, scale and causality; `masks` padding and packed-sequence segments (see
    /// `AttentionShape`, `AttentionMasks`). The forward pass saves only the output and one
    /// log-sum-exp per query row; the backward pass recomputes the probabilities from them.
    public static func attention(
        query: Tensor, key: Tensor, value: Tensor, shape: AttentionShape, masks: AttentionMasks = .none
    ) throws -> Tensor {
        try query.requireSameDevice([key, value], "attention")
        for (tensor, expected) in [(query, shape.queryCount), (key, shape.keyCount), (value, shape.keyCount)]
        where tensor.count != expected {
            throw DeviceError.shapeMismatch(
                operation: "attention '\(tensor.label)' for \(shape)", lhs: tensor.shape, rhs: [expected])
        }
        try requireMask(masks.keyValid, shape.batch * shape.keyLength, "keyValid")
        try requireMask(masks.querySegments, shape.batch * shape.queryLength, "querySegments")
        try requireMask(masks.keySegments, shape.batch * shape.keyLength, "keySegments")
        guard (masks.querySegments == nil) == (masks.keySegments == nil) else {
            throw DeviceError.invalidArgument(
                operation: "attention", message: "querySegments and keySegments go together")
        }
        let device = query.device
        let out = try Tensor.output(device, query.shape, "attention")
        let logSumExp = try device.makeBuffer(
            count: shape.logSumExpCount, dtype: .float32, label: "attention logSumExp")
        try device.attention(
            shape, q: query.buffer, k: key.buffer, v: value.buffer, masks: masks, out: out.buffer, logSumExp: logSumExp)
        let q = query.detached()
        let k = key.detached()
        let v = value.detached()
        let o = out.detached()
        return out.recorded("attention", inputs: [query, key, value]) { dOut, sink in
            let dq = try Tensor.output(device, q.shape, "attention dq")
            let dk = try Tensor.output(device, k.shape, "attention dk")
            let dv = try Tensor.output(device, v.shape, "attention dv")
            try device.attentionBackward(
                shape, q: q.buffer, k: k.buffer, v: v.buffer, masks: masks, out: o.buffer, logSumExp: logSumExp,
                dOut: dOut.buffer, dq: dq.buffer, dk: dk.buffer, dv: dv.buffer)
            try sink.add(dq, to: 0)
            try sink.add(dk, to: 1)
            try sink.add(dv, to: 2)
        }
    }

    /// Throws unless a mask buffer (when given) is int32 with `count` elements.
    private static func requireMask(_ mask: DeviceBuffer?, _ count: Int, _ name: String) throws {
        guard let mask else { return }
        try BufferChecks.require(mask, holds: count, of: .int32, in: "attention \(name)")
    }
}
