import Core

/// Table lookups and rotary positions (`Kernels/embedding.cl`).
extension Tensor {
    /// Rows of `table` [rows, dimension] picked by `ids` (any shape): the result is
    /// ids.shape + [dimension]. The table's gradient sums the gradients of the rows picked
    /// (so a tied embedding also collects the LM head's gradient).
    public static func embedding(_ table: Tensor, ids: IntTensor) throws -> Tensor {
        try table.requireSameDevice(ids, "embedding")
        guard table.rank == 2 else {
            throw DeviceError.invalidArgument(
                operation: "embedding",
                message: "table '\(table.label)' has shape \(table.shape); needs [rows, dimension]")
        }
        let (rows, dimension) = (table.shape[0], table.shape[1])
        let device = table.device
        let count = ids.count
        let out = try Tensor.output(device, ids.shape + [dimension], "embedding")
        try device.embedding(table: table.buffer, ids: ids.buffer, out: out.buffer, count: count, dimension: dimension)
        return out.recorded("embedding", inputs: [table]) { dy, sink in
            try sink.add(
                to: 0,
                overwriting: { dTable in
                    try device.embeddingBackward(
                        ids: ids.buffer, dOut: dy.buffer, dTable: dTable, count: count, dimension: dimension, rows: rows
                    )
                })
        }
    }

    /// Rows of this tensor seen as [count / last, last], picked by `indices`: e.g. the hidden
    /// state at each sequence's last real token for a reward model's score. Same as
    /// `embedding(self-as-matrix, ids: indices)`, so it is differentiable.
    public func gatherRows(_ indices: IntTensor) throws -> Tensor {
        let (rows, columns) = rowsAndColumns
        return try Tensor.embedding(reshaped([rows, columns]), ids: indices)
    }

    /// Rotary position embedding (Hugging Face "rotate_half" convention, docs/formats.md §3.4) of a
    /// tensor [..., heads, headDim]: for each token (all leading axes together), pair i < d/2
    /// rotates by positions[token]·inverseFrequencies[i]. The backward pass rotates back.
    public func rope(positions: IntTensor, inverseFrequencies: Tensor) throws -> Tensor {
        try requireRank(atLeast: 2, "rope")
        try requireSameDevice(positions, "rope")
        try requireSameDevice([inverseFrequencies], "rope")
        let heads = shape[rank - 2]
        let headDim = shape[rank - 1]
        let tokens = count / (heads * headDim)
        guard headDim % 2 == 0 else {
            throw DeviceError.invalidArgument(
                operation: "rope", message: "head dimension \(headDim) of '\(label)' is odd")
        }
        guard positions.count == tokens else {
            throw DeviceError.shapeMismatch(
                operation: "rope positions per token of '\(label)'", lhs: positions.shape, rhs: [tokens])
        }
        try Tensor.requireVector(inverseFrequencies, headDim / 2, "rope inverse frequencies")
        let frequencies = inverseFrequencies.detached()
        func rotate(_ x: DeviceBuffer, into out: DeviceBuffer, inverse: Bool) throws {
            try frequencies.device.rope(
                x, out: out, positions: positions.buffer, invFrequencies: frequencies.buffer,
                tokens: tokens, heads: heads, headDim: headDim, inverse: inverse)
        }
        let out = try Tensor.output(device, shape, "rope")
        try rotate(buffer, into: out.buffer, inverse: false)
        return out.recorded("rope", inputs: [self]) { dy, sink in
            try sink.add(to: 0, overwriting: { dx in try rotate(dy.buffer, into: dx, inverse: true) })
        }
    }
}
