import Core
import Foundation

// The specification of Kernels/attention.cl: softmax over the masked, scaled scores of each
// query row, written out directly (the kernels compute the same thing tile by tile with an
// online softmax, and recompute the probabilities in the backward pass).

extension ReferenceDevice {
    /// Per query row: p = softmax of the visible keys' scores scale·q·k_j, out = Σ_j p_j·v_j and
    /// logSumExp = log Σ_j exp(scale·q·k_j). A row that sees no key gets out = 0 and
    /// logSumExp = −∞.
    public func attention(
        _ shape: AttentionShape, q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, masks: AttentionMasks,
        out: DeviceBuffer, logSumExp: DeviceBuffer
    ) throws {
        let operation = "attention"
        let rows = try AttentionRows(shape, masks: masks, device: self, operation)
        let q = try floats(q, shape.queryCount, operation)
        let k = try floats(k, shape.keyCount, operation)
        let v = try floats(v, shape.keyCount, operation)
        var o = [Float](repeating: 0, count: shape.queryCount)
        var lse = [Float](repeating: -.infinity, count: shape.logSumExpCount)
        let d = shape.headDim
        for row in rows.all {
            guard let softmax = rows.softmax(row, q: q, k: k) else { continue }
            lse[row.logSumExpIndex] = softmax.logSumExp
            for (j, p) in softmax.probabilities.enumerated() where p != 0 {
                let vj = rows.keyIndex(row, j)
                for c in 0..<d { o[row.queryIndex + c] += p * v[vj + c] }
            }
        }
        try store(o, out, operation)
        try store(lse, logSumExp, operation)
    }

    /// The classic backward pass of softmax attention, per query row with p its probabilities:
    /// dP_j = dOut·v_j, Δ = Σ_j p_j·dP_j, dS_j = p_j·(dP_j − Δ); then dq = scale·Σ_j dS_j·k_j,
    /// dk_j += scale·dS_j·q and dv_j += p_j·dOut. The probabilities are recomputed from the
    /// scores here (not from `logSumExp`), so `out` and `logSumExp` are only checked.
    public func attentionBackward(
        _ shape: AttentionShape, q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, masks: AttentionMasks,
        out: DeviceBuffer, logSumExp: DeviceBuffer, dOut: DeviceBuffer,
        dq: DeviceBuffer, dk: DeviceBuffer, dv: DeviceBuffer
    ) throws {
        let operation = "attentionBackward"
        let rows = try AttentionRows(shape, masks: masks, device: self, operation)
        let q = try floats(q, shape.queryCount, operation)
        let k = try floats(k, shape.keyCount, operation)
        let v = try floats(v, shape.keyCount, operation)
        _ = try floats(out, shape.queryCount, operation)
        _ = try floats(logSumExp, shape.logSumExpCount, operation)
        let dOut = try floats(dOut, shape.queryCount, operation)
        var dQ = [Float](repeating: 0, count: shape.queryCount)
        var dK = [Float](repeating: 0, count: shape.keyCount)
        var dV = [Float](repeating: 0, count: shape.keyCount)
        let d = shape.headDim
        for row in rows.all {
            guard let softmax = rows.softmax(row, q: q, k: k) else { continue }
            let p = softmax.probabilities
            let dP = p.indices.map { j in
                p[j] == 0 ? 0 : dot(dOut, row.queryIndex, v, rows.keyIndex(row, j), count: d)
            }
            let delta = zip(p, dP).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            for j in p.indices where p[j] != 0 {
                let dS = p[j] * (dP[j] - delta)
                let kj = rows.keyIndex(row, j)
                for c in 0..<d {
                    dQ[row.queryIndex + c] += shape.scale * dS * k[kj + c]
                    dK[kj + c] += shape.scale * dS * q[row.queryIndex + c]
                    dV[kj + c] += p[j] * dOut[row.queryIndex + c]
                }
            }
        }
        try store(dQ, dq, operation)
        try store(dK, dk, operation)
        try store(dV, dv, operation)
    }
}

/// Σ_c a[aStart + c]·b[bStart + c] for c < count.
private func dot(_ a: [Float], _ aStart: Int, _ b: [Float], _ bStart: Int, count: Int) -> Float {
    (0..<count).reduce(Float(0)) { $0 + a[aStart + $1] * b[bStart + $1] }
}

/// One query row of attention: batch `b`, query head `h`, query `i`, and where it lives.
private struct AttentionRow {
    var b, h, i: Int
    /// Start of q[b, i, h, :] (and of out, dOut, dq).
    var queryIndex: Int
    /// Index of logSumExp[b, h, i].
    var logSumExpIndex: Int
}

/// The rows of one attention call with the masks read: indexing, visibility and the softmax.
private struct AttentionRows {
    let shape: AttentionShape
    let keyValid: [Int32]?
    let querySegments: [Int32]?
    let keySegments: [Int32]?

    init(_ shape: AttentionShape, masks: AttentionMasks, device: ReferenceDevice, _ operation: String) throws {
        try shape.validate(masks, operation: operation)
        self.shape = shape
        let keys = shape.batch * shape.keyLength
        keyValid = try masks.keyValid.map { try device.ints($0, keys, operation) }
        querySegments = try masks.querySegments.map { try device.ints($0, shape.batch * shape.queryLength, operation) }
        keySegments = try masks.keySegments.map { try device.ints($0, keys, operation) }
    }

    /// Every (b, h, i), in that nesting order.
    var all: [AttentionRow] {
        let s = shape
        return (0..<s.batch).flatMap { b in
            (0..<s.queryHeads).flatMap { h in
                (0..<s.queryLength).map { i in
                    AttentionRow(
                        b: b, h: h, i: i, queryIndex: ((b * s.queryLength + i) * s.queryHeads + h) * s.headDim,
                        logSumExpIndex: (b * s.queryHeads + h) * s.queryLength + i)
                }
            }
        }
    }

    /// Start of k[b, j, g, :] (and of v, dk, dv) for the key/value head g that `row` reads.
    func keyIndex(_ row: AttentionRow, _ j: Int) -> Int {
        let g = row.h / (shape.queryHeads / shape.keyValueHeads)
        return ((row.b * shape.keyLength + j) * shape.keyValueHeads + g) * shape.headDim
    }

    /// Whether the query of `row` attends to key `j`: causality (query i sits at position
    /// keyLength − queryLength + i), key validity and equal segments.
    func isVisible(_ row: AttentionRow, _ j: Int) -> Bool {
        if shape.causal, j > shape.keyLength - shape.queryLength + row.i { return false }
        let key = row.b * shape.keyLength + j
        if let keyValid, keyValid[key] == 0 { return false }
        if let querySegments, let keySegments, querySegments[row.b * shape.queryLength + row.i] != keySegments[key] {
            return false
        }
        return true
    }

    /// The probabilities over all keys (0 where masked) and their log-sum-exp, or `nil` when
    /// the row sees no key.
    func softmax(_ row: AttentionRow, q: [Float], k: [Float]) -> (probabilities: [Float], logSumExp: Float)? {
        let scores: [Float?] = (0..<shape.keyLength).map { j in
            isVisible(row, j) ? shape.scale * dot(q, row.queryIndex, k, keyIndex(row, j), count: shape.headDim) : nil
        }
        guard let maximum = scores.compactMap({ $0 }).max() else { return nil }
        let sum = scores.reduce(Float(0)) { $0 + ($1.map { exp($0 - maximum) } ?? 0) }
        let logSumExp = maximum + log(sum)
        return (scores.map { $0.map { exp($0 - logSumExp) } ?? 0 }, logSumExp)
    }
}
