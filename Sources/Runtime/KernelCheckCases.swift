import Core
import Foundation
import OpenCLDevice

/// One known-answer case of the self-check: a kernel family's operation on seeded inputs, run
/// the same way on any device, giving its outputs on the host.
struct KernelCheckCase {
    /// What the case runs, as the refusal names it ("matmul (packed) 133×291×263 Aᵀ").
    let kernel: String
    let run: (Device) throws -> [[Float]]
}

/// Builds a case's buffers on one device from seeded values, so that both devices get the same
/// inputs.
struct CheckInputs {
    let device: Device
    private var random: SeededGenerator

    init(device: Device, seed: UInt64) {
        self.device = device
        random = SeededGenerator(seed: seed)
    }

    /// `count` floats uniform in `range`.
    mutating func floats(_ count: Int, in range: ClosedRange<Float> = -1...1) throws -> DeviceBuffer {
        let values = (0..<count).map { _ in
            range.lowerBound + (range.upperBound - range.lowerBound) * random.nextUniform()
        }
        return try buffer(values)
    }

    func buffer(_ values: [Float]) throws -> DeviceBuffer {
        let buffer = try device.makeBuffer(count: values.count, dtype: .float32, label: "self-check")
        try device.write(values, to: buffer)
        return buffer
    }

    func ints(_ values: [Int32]) throws -> DeviceBuffer {
        let buffer = try device.makeBuffer(count: values.count, dtype: .int32, label: "self-check ids")
        try device.write(values, to: buffer)
        return buffer
    }

    /// `count` integers uniform in [0, bound).
    mutating func ids(_ count: Int, below bound: Int) throws -> DeviceBuffer {
        try ints((0..<count).map { _ in Int32(random.next() % UInt64(bound)) })
    }

    /// A buffer of `count` zeros.
    func zeros(_ count: Int) throws -> DeviceBuffer { try buffer([Float](repeating: 0, count: count)) }

    func read(_ buffers: DeviceBuffer...) throws -> [[Float]] { try buffers.map { try device.readFloats($0) } }
}

/// The cases for a device running `tuning`: every kernel family training uses, at shapes that
/// cross each blocking boundary of the tuning's defines (partial tiles, more than one k-slice and
/// strip, several work-groups and work-items).
enum KernelCheckCases {
    static func all(for tuning: DeviceTuning) -> [KernelCheckCase] {
        let b = tuning.blocking
        return matmul(b, design: tuning.matmulDesign.rawValue) + attention(b) + rows(b) + elementwise(b) + embedding()
            + optimizer(b)
    }

    private static func make(_ kernel: String, seed: UInt64, _ body: @escaping (inout CheckInputs) throws -> [[Float]])
        -> KernelCheckCase
    {
        KernelCheckCase(kernel: kernel) { device in
            var inputs = CheckInputs(device: device, seed: seed)
            return try body(&inputs)
        }
    }

    private static func matmul(_ t: BlockingSizes, design: String) -> [KernelCheckCase] {
        let m = 2 * max(t.tileM, 4 * t.mr) + 5
        let n = max(t.strip, t.tileN) + t.nr + 3
        let k = max(t.kc, 2 * t.tileK) + 7
        let shapes = [
            MatmulShape(m: m, n: n, k: k),
            MatmulShape(m: m, n: n, k: k, transposeA: true),
            MatmulShape(m: m, n: n, k: k, transposeB: true, alpha: 0.5),
            // A shared weight and one C the items add into, as weight gradients are summed.
            MatmulShape(batch: 3, m: 7, n: n, k: k, transposeA: true, strideB: 0, strideC: 0, beta: 1),
            // A long k, as weight gradients summed over many tokens have: each work-item loops
            // far more than 65,535 times, where some drivers stop loops early (llvmpipe, see
            // docs/drivers.md).
            MatmulShape(m: 8, n: 40, k: 20_003, transposeA: true),
        ]
        return shapes.enumerated().map { index, shape in
            let form = [shape.transposeA ? "Aᵀ" : "A", shape.transposeB ? "Bᵀ" : "B"].joined(separator: "·")
            return make(
                "matmul (\(design)) \(shape.batch)×\(shape.m)×\(shape.n)×\(shape.k) \(form)",
                seed: 10 + UInt64(index)
            ) { inputs in
                let counts = shape.requiredCounts
                let a = try inputs.floats(counts.a)
                let b = try inputs.floats(counts.b)
                let c = try inputs.floats(counts.c)
                try inputs.device.matmul(shape, a: a, b: b, c: c)
                return try inputs.read(c)
            }
        }
    }

    private static func attention(_ b: BlockingSizes) -> [KernelCheckCase] {
        let length = 2 * b.attentionRows + 5
        return [(64, false), (36, true)].map { headDim, masked in
            make("attention (head dim \(headDim)\(masked ? ", padding and segments" : ""))", seed: UInt64(headDim)) {
                inputs in
                let shape = AttentionShape(
                    batch: 2, queryHeads: 4, keyValueHeads: 2, queryLength: length, headDim: headDim)
                var masks = AttentionMasks.none
                if masked {
                    // Row 1 left-padded by 3 keys; two documents packed in each row.
                    let valid = (0..<2).flatMap { row in (0..<length).map { Int32(row == 1 && $0 < 3 ? 0 : 1) } }
                    let segments = (0..<2).flatMap { _ in (0..<length).map { Int32($0 < length / 3 ? 0 : 1) } }
                    masks = AttentionMasks(
                        keyValid: try inputs.ints(valid), querySegments: try inputs.ints(segments),
                        keySegments: try inputs.ints(segments))
                }
                let q = try inputs.floats(shape.queryCount)
                let k = try inputs.floats(shape.keyCount)
                let v = try inputs.floats(shape.keyCount)
                let out = try inputs.zeros(shape.queryCount)
                let logSumExp = try inputs.zeros(shape.logSumExpCount)
                try inputs.device.attention(shape, q: q, k: k, v: v, masks: masks, out: out, logSumExp: logSumExp)
                let dOut = try inputs.floats(shape.queryCount)
                let (dq, dk, dv) = (
                    try inputs.zeros(shape.queryCount), try inputs.zeros(shape.keyCount),
                    try inputs.zeros(shape.keyCount)
                )
                try inputs.device.attentionBackward(
                    shape, q: q, k: k, v: v, masks: masks, out: out, logSumExp: logSumExp, dOut: dOut, dq: dq, dk: dk,
                    dv: dv)
                return try inputs.read(out, logSumExp, dq, dk, dv)
            }
        }
    }

    /// Softmax, cross-entropy and the normalisations: rows longer than a group's vectors several
    /// times over, and more rows than the parameter-gradient lanes.
    private static func rows(_ b: BlockingSizes) -> [KernelCheckCase] {
        let columns = 3 * b.softmaxGroup * b.softmaxVector + 5
        let normColumns = max(2 * b.normGroup * b.normVector, 2 * b.parameterColumns * b.normVector) + 3
        let normRows = 3 * b.parameterLanes + 5
        var cases = [false, true].map { log in
            make(log ? "log-softmax" : "softmax", seed: 30) { inputs in
                let x = try inputs.floats(6 * columns, in: -4...4)
                let y = try inputs.zeros(6 * columns)
                try inputs.device.softmax(x, out: y, rows: 6, columns: columns, log: log)
                let dy = try inputs.floats(6 * columns)
                let dx = try inputs.zeros(6 * columns)
                try inputs.device.softmaxBackward(y: y, dy: dy, dx: dx, rows: 6, columns: columns, log: log)
                return try inputs.read(y, dx)
            }
        }
        cases.append(
            make("cross-entropy", seed: 31) { inputs in
                let rows = 9
                let logits = try inputs.floats(rows * columns, in: -4...4)
                var targets = (0..<rows).map { Int32($0 * 37 % columns) }
                targets[4] = -100
                let ids = try inputs.ints(targets)
                let (losses, logSumExp) = (try inputs.zeros(rows), try inputs.zeros(rows))
                try inputs.device.crossEntropy(
                    logits: logits, targets: ids, losses: losses, logSumExp: logSumExp, rows: rows, columns: columns,
                    ignoreIndex: -100)
                let dLosses = try inputs.floats(rows)
                let dLogits = try inputs.zeros(rows * columns)
                try inputs.device.crossEntropyBackward(
                    logits: logits, targets: ids, logSumExp: logSumExp, dLosses: dLosses, dLogits: dLogits, rows: rows,
                    columns: columns, ignoreIndex: -100)
                return try inputs.read(losses, logSumExp, dLogits)
            })
        cases.append(
            make("layer norm", seed: 32) { inputs in
                let count = normRows * normColumns
                let (x, w, b) = (
                    try inputs.floats(count, in: -3...3), try inputs.floats(normColumns), try inputs.floats(normColumns)
                )
                let (y, mean, rstd) = (try inputs.zeros(count), try inputs.zeros(normRows), try inputs.zeros(normRows))
                try inputs.device.layerNorm(
                    x, weight: w, bias: b, out: y, mean: mean, rstd: rstd, rows: normRows, columns: normColumns,
                    epsilon: 1e-5)
                let dy = try inputs.floats(count)
                let (dx, dw, db) = (
                    try inputs.zeros(count), try inputs.zeros(normColumns), try inputs.zeros(normColumns)
                )
                try inputs.device.layerNormBackward(
                    x, weight: w, mean: mean, rstd: rstd, dy: dy, dx: dx, dWeight: dw, dBias: db, rows: normRows,
                    columns: normColumns)
                return try inputs.read(y, dx, dw, db)
            })
        cases.append(
            make("RMS norm", seed: 33) { inputs in
                let count = normRows * normColumns
                let (x, w) = (try inputs.floats(count, in: -3...3), try inputs.floats(normColumns))
                let (y, rstd) = (try inputs.zeros(count), try inputs.zeros(normRows))
                try inputs.device.rmsNorm(
                    x, weight: w, out: y, rstd: rstd, rows: normRows, columns: normColumns, epsilon: 1e-6)
                let dy = try inputs.floats(count)
                let (dx, dw) = (try inputs.zeros(count), try inputs.zeros(normColumns))
                try inputs.device.rmsNormBackward(
                    x, weight: w, rstd: rstd, dy: dy, dx: dx, dWeight: dw, rows: normRows, columns: normColumns)
                return try inputs.read(y, dx, dw)
            })
        return cases
    }

    /// The elementwise, activation and reduction kernels over several groups and a partial one.
    private static func elementwise(_ b: BlockingSizes) -> [KernelCheckCase] {
        let count = 3 * b.elementwiseGroup * 4 + 5
        let unary: [(String, UnaryOp)] = [
            ("gelu", .gelu), ("silu", .silu), ("tanh", .tanh), ("sigmoid", .sigmoid), ("log-sigmoid", .logSigmoid),
            ("exp", .exp), ("relu", .relu), ("square", .square), ("scale", .scale(0.7)), ("clamp", .clamp(-0.5, 0.5)),
        ]
        var cases = unary.map { name, op in
            make("unary \(name)", seed: 40) { inputs in
                let x = try inputs.floats(count, in: -3...3)
                let (y, dx) = (try inputs.zeros(count), try inputs.zeros(count))
                try inputs.device.unary(op, x, out: y, count: count)
                try inputs.device.unaryBackward(op, x: x, dy: try inputs.floats(count), dx: dx, count: count)
                return try inputs.read(y, dx)
            }
        }
        cases += [("log", UnaryOp.log), ("sqrt", .sqrt)].map { name, op in
            make("unary \(name)", seed: 41) { inputs in
                let x = try inputs.floats(count, in: 0.1...3)
                let y = try inputs.zeros(count)
                try inputs.device.unary(op, x, out: y, count: count)
                return try inputs.read(y)
            }
        }
        cases += BinaryOp.allCases.map { op in
            make("binary \(op)", seed: 42) { inputs in
                let (a, b) = ([7, 1, 37], [1, 5, 37])
                guard let (shape, layout) = BroadcastShape.broadcasting(a, b) else { return [] }
                let x = try inputs.floats(a.reduce(1, *))
                let y = try inputs.floats(b.reduce(1, *), in: 0.5...2)
                let out = try inputs.zeros(shape.reduce(1, *))
                try inputs.device.binary(op, x, y, out: out, shape: layout)
                return try inputs.read(out)
            }
        }
        // The last: one long row, whose work-items loop more than 65,535 times.
        let reductions = [(3, 4 * b.elementwiseGroup + 7, 1), (2, 3 * b.reduceSegment + 5, 37), (1, 300_007, 1)]
        cases += reductions.map { outer, reduced, inner in
            make("reduce sum \(outer)×\(reduced)×\(inner)", seed: 43) { inputs in
                let x = try inputs.floats(outer * reduced * inner)
                let out = try inputs.zeros(outer * inner)
                try inputs.device.reduceSum(x, out: out, outer: outer, reduced: reduced, inner: inner)
                return try inputs.read(out)
            }
        }
        let squares = 2 * b.elementwiseGroup * 4 * b.squaresChunks + 13
        cases.append(
            make("sum of squares", seed: 44) { inputs in
                let x = try inputs.floats(squares)
                let out = try inputs.zeros(1)
                try inputs.device.sumOfSquares(x, count: squares, out: out)
                return try inputs.read(out)
            })
        cases.append(
            make("dropout", seed: 45) { inputs in
                let x = try inputs.floats(count)
                let y = try inputs.zeros(count)
                try inputs.device.dropout(x, out: y, count: count, probability: 0.1, seed: 7)
                return try inputs.read(y)
            })
        return cases
    }

    private static func embedding() -> [KernelCheckCase] {
        [
            make("embedding", seed: 50) { inputs in
                let (rows, dimension, count) = (50, 37, 77)
                let table = try inputs.floats(rows * dimension)
                let ids = try inputs.ids(count, below: rows)
                let out = try inputs.zeros(count * dimension)
                try inputs.device.embedding(table: table, ids: ids, out: out, count: count, dimension: dimension)
                let dTable = try inputs.zeros(rows * dimension)
                try inputs.device.embeddingBackward(
                    ids: ids, dOut: try inputs.floats(count * dimension), dTable: dTable, count: count,
                    dimension: dimension, rows: rows)
                return try inputs.read(out, dTable)
            },
            make("rope", seed: 51) { inputs in
                let (tokens, heads, headDim) = (13, 3, 36)
                let x = try inputs.floats(tokens * heads * headDim)
                let positions = try inputs.ints((0..<tokens).map { Int32($0 * 3) })
                let frequencies = try inputs.buffer(
                    (0..<(headDim / 2)).map { Float(Foundation.pow(10000, -2 * Double($0) / Double(headDim))) })
                let (y, back) = (try inputs.zeros(tokens * heads * headDim), try inputs.zeros(tokens * heads * headDim))
                try inputs.device.rope(
                    x, out: y, positions: positions, invFrequencies: frequencies, tokens: tokens, heads: heads,
                    headDim: headDim, inverse: false)
                try inputs.device.rope(
                    y, out: back, positions: positions, invFrequencies: frequencies, tokens: tokens, heads: heads,
                    headDim: headDim, inverse: true)
                return try inputs.read(y, back)
            },
        ]
    }

    private static func optimizer(_ b: BlockingSizes) -> [KernelCheckCase] {
        let count = 3 * b.adamWGroup * b.adamWVector + 5
        return [
            make("AdamW", seed: 60) { inputs in
                let (parameters, gradients) = (try inputs.floats(count), try inputs.floats(count))
                let (m, v) = (try inputs.floats(count, in: -0.1...0.1), try inputs.floats(count, in: 0...0.01))
                try inputs.device.adamW(
                    parameters: parameters, gradients: gradients, firstMoment: m, secondMoment: v, count: count,
                    decayCount: count / 2, step: AdamWStep(learningRate: 1e-2, step: 3))
                return try inputs.read(parameters, m, v)
            }
        ]
    }
}
