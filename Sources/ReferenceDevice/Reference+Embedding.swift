import Core
import Foundation

/// Embedding lookups and rotary position embedding: the specification of `Kernels/embedding.cl`.
extension ReferenceDevice {
    public func embedding(table: DeviceBuffer, ids: DeviceBuffer, out: DeviceBuffer, count: Int, dimension: Int) throws
    {
        let rows = try ElementwiseChecks.embedding(table: table, ids: ids, out: out, count: count, dimension: dimension)
        let tokens = try checkedIDs(ids, count: count, rows: rows, "embedding")
        let weights = try floats(table, rows * dimension, "embedding")
        var result = [Float]()
        result.reserveCapacity(count * dimension)
        for id in tokens {
            result += weights[(id * dimension)..<((id + 1) * dimension)]
        }
        try store(result, out, "embedding")
    }

    public func embeddingBackward(
        ids: DeviceBuffer, dOut: DeviceBuffer, dTable: DeviceBuffer, count: Int, dimension: Int, rows: Int
    ) throws {
        try ElementwiseChecks.embeddingBackward(
            ids: ids, dOut: dOut, dTable: dTable, count: count, dimension: dimension, rows: rows)
        let tokens = try checkedIDs(ids, count: count, rows: rows, "embeddingBackward")
        let gradients = try floats(dOut, count * dimension, "embeddingBackward")
        var result = [Float](repeating: 0, count: rows * dimension)
        // Tokens in order, so a row hit several times sums its gradients in a fixed order.
        for (i, id) in tokens.enumerated() {
            for c in 0..<dimension { result[id * dimension + c] += gradients[i * dimension + c] }
        }
        try store(result, dTable, "embeddingBackward")
    }

    public func rope(
        _ x: DeviceBuffer, out: DeviceBuffer, positions: DeviceBuffer, invFrequencies: DeviceBuffer,
        tokens: Int, heads: Int, headDim: Int, inverse: Bool
    ) throws {
        try ElementwiseChecks.rope(
            x, out: out, positions: positions, invFrequencies: invFrequencies,
            tokens: tokens, heads: heads, headDim: headDim)
        let xs = try floats(x, tokens * heads * headDim, "rope")
        let position = try ints(positions, tokens, "rope")
        let frequencies = try floats(invFrequencies, headDim / 2, "rope")
        let half = headDim / 2
        var result = xs
        for t in 0..<tokens {
            for h in 0..<heads {
                let base = (t * heads + h) * headDim
                for i in 0..<half {
                    let angle = Float(position[t]) * frequencies[i]
                    let cosine = Foundation.cos(angle)
                    let sine = inverse ? -Foundation.sin(angle) : Foundation.sin(angle)
                    let first = xs[base + i]
                    let second = xs[base + i + half]
                    result[base + i] = first * cosine - second * sine
                    result[base + i + half] = second * cosine + first * sine
                }
            }
        }
        try store(result, out, "rope")
    }

    /// The first `count` ids as array indices, after checking each names one of `rows` rows.
    private func checkedIDs(_ ids: DeviceBuffer, count: Int, rows: Int, _ operation: String) throws -> [Int] {
        try ints(ids, count, operation).enumerated().map { i, id in
            guard id >= 0, Int(id) < rows else {
                throw DeviceError.idOutOfRange(operation: operation, id: id, position: i, rows: rows)
            }
            return Int(id)
        }
    }
}
