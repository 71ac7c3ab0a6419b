import Core
import Foundation
import OpenCLDevice
import Runtime

/// `gputrain tune`: searches the matmul and attention tile sizes of the variant a device runs,
/// at the shapes of the `bench train` presets, and keeps the fastest that the self-check
/// verifies and that is no slower than the built-in sizes at any shape.
///
/// Each candidate is first checked against the reference device (`SelfCheck` with the
/// candidate's sizes, so its blocking boundaries are crossed), then timed (median of `repeats`
/// after a warm-up) at every shape. The built-in sizes are always a candidate, so the choice
/// is never slower than them at any shape, as measured in the same run.
public struct Autotuner {
    /// One timed candidate.
    public struct Candidate: JSONLineEncodable {
        public var kernel: String
        public var defines: String
        public var verified: Bool
        /// Shape name → median seconds (empty when not verified).
        public var seconds: [String: Double]
        public var isDefault: Bool

        public var totalSeconds: Double { seconds.values.reduce(0, +) }

        init(kernel: String, defines: String, verified: Bool, isDefault: Bool) {
            self.kernel = kernel
            self.defines = defines
            self.verified = verified
            self.seconds = [:]
            self.isDefault = isDefault
        }

        enum CodingKeys: String, CodingKey {
            case kernel, defines, verified, seconds
            case isDefault = "default"
            case totalSeconds = "total_seconds"
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(kernel, forKey: .kernel)
            try container.encode(defines, forKey: .defines)
            try container.encode(verified, forKey: .verified)
            try container.encode(seconds, forKey: .seconds)
            try container.encode(isDefault, forKey: .isDefault)
            try container.encode(totalSeconds, forKey: .totalSeconds)
        }
    }

    /// What tuning found: every candidate, and the file's contents.
    public struct Result {
        public var candidates: [Candidate]
        public var file: TuningFile
        /// The chosen and the built-in candidate of each kernel, for a before/after table.
        public var chosen: [String: (best: Candidate, builtIn: Candidate)]
    }

    public let device: OpenCLDevice
    public var repeats: Int
    public var log: (String) -> Void

    public init(device: OpenCLDevice, repeats: Int = 3, log: @escaping (String) -> Void = { _ in }) {
        self.device = device
        self.repeats = repeats
        self.log = log
    }

    /// The matmul products of a training step of each preset, by name: forward, input gradient
    /// and weight gradient of each distinct weight shape.
    static func matmulShapes() -> [(String, MatmulShape)] {
        var result: [(String, MatmulShape)] = []
        var seen = Set<String>()
        for preset in TrainBenchmarkShape.presetNames {
            guard let shape = TrainBenchmarkShape.preset(preset) else { continue }
            let model = shape.model
            let tokens = shape.batchSize * shape.sequenceLength
            let (d, ffn, vocab) = (model.hiddenSize, model.intermediateSize, model.vocabSize)
            let weights = [(d, 3 * d), (d, d), (d, ffn), (ffn, d), (d, vocab)]
            for (k, n) in weights {
                for (form, product) in [
                    ("fwd", MatmulShape(m: tokens, n: n, k: k)),
                    ("dX", MatmulShape(m: tokens, n: k, k: n, transposeB: true)),
                    ("dW", MatmulShape(m: k, n: n, k: tokens, transposeA: true)),
                ] {
                    let name = "\(tokens)x\(k)x\(n) \(form)"
                    if seen.insert(name).inserted { result.append((name, product)) }
                }
            }
        }
        return result
    }

    /// The attention shapes of the presets.
    static func attentionShapes() -> [(String, AttentionShape)] {
        var result: [(String, AttentionShape)] = []
        for preset in TrainBenchmarkShape.presetNames {
            guard let shape = TrainBenchmarkShape.preset(preset) else { continue }
            let model = shape.model
            let attention = AttentionShape(
                batch: shape.batchSize, queryHeads: model.headCount, keyValueHeads: model.keyValueHeadCount,
                queryLength: shape.sequenceLength, headDim: model.headDimension)
            let name = "\(attention.batch)x\(attention.queryHeads)x\(attention.queryLength)x\(attention.headDim)"
            if !result.contains(where: { $0.0 == name }) { result.append((name, attention)) }
        }
        return result
    }

    /// Tunes matmul and attention; `report` sees each candidate as soon as it is timed.
    public func run(report: (Candidate) -> Void = { _ in }) throws -> Result {
        let builtIn = device.tuning
        defer { device.tuning = builtIn }
        let info = device.info
        let design = builtIn.matmulDesign
        var candidates: [Candidate] = []
        var chosen: [String: (best: Candidate, builtIn: Candidate)] = [:]

        let matmulCandidates = MatmulTuning.candidates(
            for: design, base: builtIn.matmul, localMemoryBytes: info.localMemoryBytes,
            maxWorkGroupSize: max(1, info.maxWorkGroupSize))
        let matmuls = try tune(
            "matmul", candidates: [builtIn.matmul] + matmulCandidates.filter { $0 != builtIn.matmul },
            describe: { $0.summary(design) }, apply: { device.tuning.matmul = $0 },
            shapes: Self.matmulShapes().map { name, shape in (name, try timer(shape)) }, report: report)
        candidates += matmuls.all
        chosen["matmul"] = (matmuls.best.0, matmuls.builtIn)

        let attentionCandidates = AttentionTuning.candidates(maxWorkGroupSize: max(1, info.maxWorkGroupSize))
        let attentions = try tune(
            "attention", candidates: [builtIn.attention] + attentionCandidates.filter { $0 != builtIn.attention },
            describe: \.summary, apply: { device.tuning.attention = $0 },
            shapes: Self.attentionShapes().map { name, shape in (name, try timer(shape)) }, report: report)
        candidates += attentions.all
        chosen["attention"] = (attentions.best.0, attentions.builtIn)

        let file = TuningFile(
            device: info.name, driver: info.driverVersion, kernels: builtIn.variant.rawValue,
            matmul: matmuls.best.1, attention: attentions.best.1)
        return Result(candidates: candidates, file: file, chosen: chosen)
    }

    /// Verifies and times each of `candidates` (the first is the built-in one) and returns them
    /// all, the built-in one, and the best: the least total time among those no slower than the
    /// built-in at any shape, confirmed by timing the two in alternation (else the built-in).
    private func tune<T>(
        _ kernel: String, candidates: [T], describe: (T) -> String, apply: (T) -> Void,
        shapes: [(String, () throws -> Void)], report: (Candidate) -> Void
    ) throws -> (all: [Candidate], builtIn: Candidate, best: (Candidate, T)) {
        let timing = KernelBenchmark(device: device, repeats: repeats, compareWithCLBlast: false)
        var all: [(Candidate, T)] = []
        for (index, tuning) in candidates.enumerated() {
            apply(tuning)
            let check = try SelfCheck.run(device, only: kernel)
            var candidate = Candidate(
                kernel: kernel, defines: describe(tuning), verified: check.passed, isDefault: index == 0)
            if check.passed {
                for (name, run) in shapes { candidate.seconds[name] = try timing.medianSeconds(run) }
            }
            log(
                String(
                    format: "%@ %d/%d %@: %@", kernel, index + 1, candidates.count, candidate.defines,
                    check.passed ? String(format: "%.3f s", candidate.totalSeconds) : "wrong results, skipped"))
            report(candidate)
            all.append((candidate, tuning))
        }
        let eligible = all.filter { candidate, _ in
            candidate.verified
                && all[0].0.seconds.allSatisfy { name, seconds in (candidate.seconds[name] ?? .infinity) <= seconds }
        }
        guard let leader = eligible.min(by: { $0.0.totalSeconds < $1.0.totalSeconds }),
            leader.0.defines != all[0].0.defines
        else { return (all.map(\.0), all[0].0, all[0]) }
        // The machine's load may have changed between the first and the last candidate: time the
        // leader and the built-in sizes again in alternation, and keep the leader only if it is
        // no slower at any shape there.
        var (builtIn, best) = (all[0].0, leader.0)
        (builtIn.seconds, best.seconds) = ([:], [:])
        for (name, run) in shapes {
            var times: ([Double], [Double]) = ([], [])
            for _ in 0..<3 {
                apply(all[0].1)
                times.0.append(try timing.medianSeconds(run))
                apply(leader.1)
                times.1.append(try timing.medianSeconds(run))
            }
            builtIn.seconds[name] = times.0.sorted()[1]
            best.seconds[name] = times.1.sorted()[1]
        }
        log(
            "\(kernel): \(best.defines) against the built-in sizes, timed in alternation: \(String(format: "%.3f s → %.3f s", builtIn.totalSeconds, best.totalSeconds))"
        )
        let wins = builtIn.seconds.allSatisfy { name, seconds in best.seconds[name]! <= seconds }
        return (all.map(\.0), builtIn, wins ? (best, leader.1) : (builtIn, all[0].1))
    }

    /// A closure running `shape` on the device with buffers made once.
    private func timer(_ shape: MatmulShape) throws -> () throws -> Void {
        let counts = shape.requiredCounts
        let a = try filled(counts.a, seed: 1)
        let b = try filled(counts.b, seed: 2)
        let c = try device.makeBuffer(count: counts.c, dtype: .float32, label: "c")
        return { try device.matmul(shape, a: a, b: b, c: c) }
    }

    private func timer(_ shape: AttentionShape) throws -> () throws -> Void {
        let (q, k, v) = (
            try filled(shape.queryCount, seed: 1), try filled(shape.keyCount, seed: 2),
            try filled(shape.keyCount, seed: 3)
        )
        let dOut = try filled(shape.queryCount, seed: 4)
        let buffers = try [shape.queryCount, shape.logSumExpCount, shape.queryCount, shape.keyCount, shape.keyCount].map
        {
            try device.makeBuffer(count: $0, dtype: .float32, label: "attention")
        }
        return {
            try device.attention(shape, q: q, k: k, v: v, masks: .none, out: buffers[0], logSumExp: buffers[1])
            try device.attentionBackward(
                shape, q: q, k: k, v: v, masks: .none, out: buffers[0], logSumExp: buffers[1], dOut: dOut,
                dq: buffers[2], dk: buffers[3], dv: buffers[4])
        }
    }

    private func filled(_ count: Int, seed: UInt64) throws -> DeviceBuffer {
        let buffer = try device.makeBuffer(count: count, dtype: .float32, label: "tune")
        var generator = SeededGenerator(seed: seed)
        try device.write((0..<count).map { _ in 2 * generator.nextUniform() - 1 }, to: buffer)
        return buffer
    }
}
