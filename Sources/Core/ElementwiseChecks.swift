/// Argument checks of the elementwise, reduction, embedding and rotary operations, shared by
/// every device so that each rejects bad arguments with the same words.
public enum ElementwiseChecks {
    /// Throws `invalidArgument` unless every value is zero or more.
    public static func requireNonNegative(_ values: [String: Int], in operation: String) throws {
        for (name, value) in values.sorted(by: { $0.key < $1.key }) where value < 0 {
            throw DeviceError.invalidArgument(
                operation: operation, message: "\(name) must not be negative, got \(value)")
        }
    }

    /// Throws unless `count` (elements to process) is zero or more.
    public static func requireCount(_ count: Int, _ operation: String) throws {
        try requireNonNegative(["count": count], in: operation)
    }

    /// Checks of `fill`: the range lies inside the buffer.
    public static func fill(_ buffer: DeviceBuffer, offset: Int, count: Int) throws {
        try requireNonNegative(["offset": offset, "count": count], in: "fill")
        try BufferChecks.require(buffer, holds: offset + count, in: "fill")
    }

    /// Checks of `copy2D`: both blocks lie inside their buffers and destination rows do not overlap.
    public static func copy2D(
        source: DeviceBuffer, sourceOffset: Int, sourceRowStride: Int,
        destination: DeviceBuffer, destinationOffset: Int, destinationRowStride: Int,
        rows: Int, columns: Int
    ) throws {
        try requireNonNegative(
            [
                "sourceOffset": sourceOffset, "sourceRowStride": sourceRowStride,
                "destinationOffset": destinationOffset, "rows": rows, "columns": columns,
            ],
            in: "copy2D")
        guard rows <= 1 || destinationRowStride >= columns else {
            throw DeviceError.invalidArgument(
                operation: "copy2D",
                message:
                    "destinationRowStride \(destinationRowStride) is less than columns \(columns): rows would overlap")
        }
        guard rows > 0, columns > 0 else { return }
        try BufferChecks.require(source, holds: sourceOffset + (rows - 1) * sourceRowStride + columns, in: "copy2D")
        try BufferChecks.require(
            destination, holds: destinationOffset + (rows - 1) * destinationRowStride + columns, in: "copy2D")
    }

    /// Checks of `binary`; returns how many elements each operand spans (largest index + 1).
    public static func binary(
        _ a: DeviceBuffer, _ b: DeviceBuffer, out: DeviceBuffer, shape: BroadcastShape
    ) throws -> (a: Int, b: Int) {
        guard shape.dims.count == 4, shape.aStrides.count == 4, shape.bStrides.count == 4 else {
            throw DeviceError.invalidArgument(
                operation: "binary",
                message: "dims and strides must have rank 4, got \(shape.dims), \(shape.aStrides), \(shape.bStrides)")
        }
        guard shape.dims.allSatisfy({ $0 >= 0 }), (shape.aStrides + shape.bStrides).allSatisfy({ $0 >= 0 }) else {
            throw DeviceError.invalidArgument(
                operation: "binary",
                message:
                    "dims and strides must not be negative, got \(shape.dims), \(shape.aStrides), \(shape.bStrides)")
        }
        guard shape.count > 0 else { return (0, 0) }
        func span(_ strides: [Int]) -> Int { zip(shape.dims, strides).reduce(1) { $0 + ($1.0 - 1) * $1.1 } }
        let spans = (a: span(shape.aStrides), b: span(shape.bStrides))
        try BufferChecks.require(a, holds: spans.a, in: "binary (a)")
        try BufferChecks.require(b, holds: spans.b, in: "binary (b)")
        try BufferChecks.require(out, holds: shape.count, in: "binary (out)")
        return spans
    }

    /// Checks of `dropout`'s count and probability.
    public static func dropout(count: Int, probability: Float) throws {
        try requireCount(count, "dropout")
        guard probability >= 0, probability <= 1 else {
            throw DeviceError.invalidArgument(
                operation: "dropout", message: "probability must lie in [0, 1], got \(probability)")
        }
    }

    /// 1/(1 − p), the factor that keeps dropout's expectation; 0 when everything is dropped.
    public static func dropoutScale(_ probability: Float) -> Float {
        probability < 1 ? 1 / (1 - probability) : 0
    }

    /// Checks of `embedding`; returns the table's row count (its size over `dimension`).
    public static func embedding(
        table: DeviceBuffer, ids: DeviceBuffer, out: DeviceBuffer, count: Int, dimension: Int
    ) throws -> Int {
        try requireCount(count, "embedding")
        try BufferChecks.requirePositive(["dimension": dimension], in: "embedding")
        try BufferChecks.require(table, holds: dimension, in: "embedding (table)")
        try BufferChecks.require(ids, holds: count, of: .int32, in: "embedding (ids)")
        try BufferChecks.require(out, holds: count * dimension, in: "embedding (out)")
        return table.count / dimension
    }

    /// Checks of `embeddingBackward`.
    public static func embeddingBackward(
        ids: DeviceBuffer, dOut: DeviceBuffer, dTable: DeviceBuffer, count: Int, dimension: Int, rows: Int
    ) throws {
        try requireCount(count, "embeddingBackward")
        try BufferChecks.requirePositive(["dimension": dimension, "rows": rows], in: "embeddingBackward")
        try BufferChecks.require(ids, holds: count, of: .int32, in: "embeddingBackward (ids)")
        try BufferChecks.require(dOut, holds: count * dimension, in: "embeddingBackward (dOut)")
        try BufferChecks.require(dTable, holds: rows * dimension, in: "embeddingBackward (dTable)")
    }

    /// Checks of `rope`: sizes positive, `headDim` even, buffers large enough.
    public static func rope(
        _ x: DeviceBuffer, out: DeviceBuffer, positions: DeviceBuffer, invFrequencies: DeviceBuffer,
        tokens: Int, heads: Int, headDim: Int
    ) throws {
        try BufferChecks.requirePositive(["heads": heads, "headDim": headDim], in: "rope")
        try requireNonNegative(["tokens": tokens], in: "rope")
        guard headDim % 2 == 0 else {
            throw DeviceError.invalidArgument(operation: "rope", message: "headDim must be even, got \(headDim)")
        }
        try BufferChecks.require(x, holds: tokens * heads * headDim, in: "rope (x)")
        try BufferChecks.require(out, holds: tokens * heads * headDim, in: "rope (out)")
        try BufferChecks.require(positions, holds: tokens, of: .int32, in: "rope (positions)")
        try BufferChecks.require(invFrequencies, holds: headDim / 2, in: "rope (invFrequencies)")
    }
}
