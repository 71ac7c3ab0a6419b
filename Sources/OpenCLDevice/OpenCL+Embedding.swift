import Core

/// Embedding lookups and rotary position embedding on `Kernels/embedding.cl`.
extension OpenCLDevice {
    public func embedding(table: DeviceBuffer, ids: DeviceBuffer, out: DeviceBuffer, count: Int, dimension: Int) throws
    {
        let rows = try ElementwiseChecks.embedding(table: table, ids: ids, out: out, count: count, dimension: dimension)
        try ElementwiseLaunch.requireIndexable(max(table.count, count * dimension), "embedding")
        let grid = ElementwiseLaunch.grid(columns: (dimension + 3) / 4, rows: count, local: elementwiseLocalSize)
        try launch(
            "embedding", "embedding", global: grid.global, local: grid.local,
            arguments: [.buffer(table), .buffer(ids), .buffer(out), .int(count), .int(dimension), .int(rows)]
                + idErrorArguments("embedding"),
            operation: "embedding")
    }

    public func embeddingBackward(
        ids: DeviceBuffer, dOut: DeviceBuffer, dTable: DeviceBuffer, count: Int, dimension: Int, rows: Int
    ) throws {
        try ElementwiseChecks.embeddingBackward(
            ids: ids, dOut: dOut, dTable: dTable, count: count, dimension: dimension, rows: rows)
        try ElementwiseLaunch.requireIndexable(max(rows, count) * dimension, "embeddingBackward")
        // Rows no token names get zeros; the others are then overwritten with their sums.
        try fill(dTable, value: 0, offset: 0, count: rows * dimension)
        guard count > 0 else { return }
        // OpenCL keeps the scratch alive until the queued kernels that use it have finished.
        let links = try makeBuffer(count: 2 * count, dtype: .int32, label: "embeddingBackward links")
        let local = elementwiseLocalSize
        try launch(
            "embedding", "embedding_links", global: [roundUp(count, toMultipleOf: local)], local: [local],
            arguments: [.buffer(ids), .buffer(links), .int(count), .int(rows)] + idErrorArguments("embeddingBackward"),
            operation: "embeddingBackward")
        let grid = ElementwiseLaunch.grid(columns: (dimension + 3) / 4, rows: count, local: local)
        try launch(
            "embedding", "embedding_backward", global: grid.global, local: grid.local,
            arguments: [
                .buffer(ids), .buffer(links), .buffer(dOut), .buffer(dTable), .int(count), .int(dimension), .int(rows),
            ],
            operation: "embeddingBackward")
    }

    public func rope(
        _ x: DeviceBuffer, out: DeviceBuffer, positions: DeviceBuffer, invFrequencies: DeviceBuffer,
        tokens: Int, heads: Int, headDim: Int, inverse: Bool
    ) throws {
        try ElementwiseChecks.rope(
            x, out: out, positions: positions, invFrequencies: invFrequencies,
            tokens: tokens, heads: heads, headDim: headDim)
        try ElementwiseLaunch.requireIndexable(tokens * heads * headDim, "rope")
        let half = headDim / 2
        let grid = ElementwiseLaunch.grid(columns: half, rows: tokens, local: elementwiseLocalSize)
        try launch(
            "embedding", "rope", global: grid.global, local: grid.local,
            arguments: [
                .buffer(x), .buffer(out), .buffer(positions), .buffer(invFrequencies),
                .int(tokens), .int(heads), .int(half), .float(inverse ? -1 : 1),
            ],
            operation: "rope")
    }
}
