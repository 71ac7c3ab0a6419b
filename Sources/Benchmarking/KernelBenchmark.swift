import Core
import Foundation
import OpenCLDevice

/// One measured kernel: what `gputrain bench kernels --json` prints as a line.
public struct KernelBenchmarkResult: JSONLineEncodable, Equatable {
    /// "matmul", "softmax_cross_entropy", "layernorm", "attention", "adamw" or "copy".
    public var kernel: String
    /// "fwd", "dX", "dW", "bwd" or "update".
    public var op: String
    /// The problem size, e.g. "512x768x2304" (M×K×N) for matmul.
    public var shape: String
    /// Billions of floating-point operations per second (compute-bound kernels), else nil.
    public var gflops: Double?
    /// Billions of bytes moved per second (memory-bound kernels), else nil.
    public var gbps: Double?
    /// CLBlast's SGEMM on the same device and product (matmul only; nil when unavailable).
    public var clblastGflops: Double?
    /// Median seconds of one call.
    public var seconds: Double
    public var device: String

    enum CodingKeys: String, CodingKey {
        case kernel, op, shape, gflops, gbps
        case clblastGflops = "clblast_gflops"
        case seconds, device
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kernel, forKey: .kernel)
        try container.encode(op, forKey: .op)
        try container.encode(shape, forKey: .shape)
        try container.encodeIfPresent(gflops.map { rounded($0, 2) }, forKey: .gflops)
        try container.encodeIfPresent(gbps.map { rounded($0, 2) }, forKey: .gbps)
        // Always present, null when there is no CLBlast number, so every line has the same keys.
        try container.encode(clblastGflops.map { rounded($0, 2) }, forKey: .clblastGflops)
        try container.encode(rounded(seconds, 7), forKey: .seconds)
        try container.encode(device, forKey: .device)
    }

    /// The result for people, e.g. "matmul fwd 512x768x2304: 101.2 GFLOP/s (CLBlast 20.1)".
    public var text: String {
        let rate =
            gflops.map { String(format: "%.1f GFLOP/s", $0) } ?? gbps.map { String(format: "%.1f GB/s", $0) } ?? "-"
        let clblast = clblastGflops.map { String(format: " (CLBlast %.1f GFLOP/s)", $0) } ?? ""
        return "\(kernel) \(op) \(shape): \(rate)\(clblast), \(String(format: "%.3f", seconds * 1000)) ms"
    }
}

/// The kernel benchmark suite of `gputrain bench kernels`: the matmuls of a GPT-2-small-sized
/// model (forward and both gradients), then the memory-bound and fused kernels. Each kernel is
/// timed `repeats` times after one warm-up call, and the median is reported. A kernel the device
/// cannot run (e.g. not implemented) is skipped with a note.
public struct KernelBenchmark {
    /// Matmul shapes, M×K×N with C = A·B (M tokens, K inputs, N outputs).
    public static let matmulShapes: [(m: Int, k: Int, n: Int)] = [
        (512, 768, 2304), (512, 768, 768), (512, 768, 3072), (512, 3072, 768),
        (512, 768, 8192), (1024, 1024, 1024), (2048, 2048, 2048),
    ]

    /// The kernel names `only` may select.
    public static let kernels = ["matmul", "softmax_cross_entropy", "layernorm", "attention", "adamw", "copy"]

    public var device: Device
    public var repeats: Int
    /// Kernel names to run (nil: all).
    public var only: Set<String>?
    /// Whether matmuls are also timed with CLBlast (when it is installed).
    public var compareWithCLBlast: Bool
    /// Where progress and notes go (stderr in the CLI).
    public var log: (String) -> Void

    public init(
        device: Device, repeats: Int = 5, only: Set<String>? = nil, compareWithCLBlast: Bool = true,
        log: @escaping (String) -> Void = { _ in }
    ) {
        self.device = device
        self.repeats = max(1, repeats)
        self.only = only
        self.compareWithCLBlast = compareWithCLBlast
        self.log = log
    }

    /// Runs the suite, handing each result to `report` as soon as it is measured.
    public func run(report: (KernelBenchmarkResult) -> Void) throws {
        let suites: [(String, ((KernelBenchmarkResult) -> Void) throws -> Void)] = [
            ("matmul", matmuls), ("softmax_cross_entropy", softmaxCrossEntropy), ("layernorm", layerNorm),
            ("attention", attention), ("adamw", adamW), ("copy", copy),
        ]
        for (name, suite) in suites where only?.contains(name) ?? true {
            log("benchmarking \(name)…")
            do {
                try suite(report)
            } catch {
                log("skipping \(name): \(error)")
            }
        }
    }

    // MARK: Timing

    /// Median seconds of `body` (with the device synchronised) over `repeats` calls after a warm-up.
    func medianSeconds(_ body: () throws -> Void) throws -> Double {
        try body()
        try device.synchronize()
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            try device.synchronize()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
        }
        times.sort()
        return times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
    }

    private func result(
        _ kernel: String, _ op: String, _ shape: String, seconds: Double,
        flops: Double? = nil, bytes: Double? = nil, clblast: Double? = nil
    ) -> KernelBenchmarkResult {
        KernelBenchmarkResult(
            kernel: kernel, op: op, shape: shape, gflops: flops.map { $0 / seconds * 1e-9 },
            gbps: bytes.map { $0 / seconds * 1e-9 }, clblastGflops: clblast, seconds: seconds, device: device.name)
    }

    /// A buffer of `count` values uniform in [−1, 1).
    private func randomBuffer(_ count: Int, _ label: String, seed: UInt64 = 1) throws -> DeviceBuffer {
        let buffer = try device.makeBuffer(count: count, dtype: .float32, label: label)
        var generator = SeededGenerator(seed: seed)
        try device.write((0..<count).map { _ in 2 * generator.nextUniform() - 1 }, to: buffer)
        return buffer
    }

    // MARK: Suites

    /// Each shape's forward product and its two gradients, against CLBlast when it is available.
    private func matmuls(report: (KernelBenchmarkResult) -> Void) throws {
        let openCL = compareWithCLBlast ? device as? OpenCLDevice : nil
        if openCL != nil, let reason = CLBlast.unavailableReason {
            log("CLBlast unavailable, clblast_gflops will be null: \(reason)")
        }
        for (m, k, n) in Self.matmulShapes {
            let x = try randomBuffer(m * k, "x")
            let w = try randomBuffer(k * n, "w", seed: 2)
            let dy = try randomBuffer(m * n, "dy", seed: 3)
            let y = try device.makeBuffer(count: m * n, dtype: .float32, label: "y")
            let dx = try device.makeBuffer(count: m * k, dtype: .float32, label: "dx")
            let dw = try device.makeBuffer(count: k * n, dtype: .float32, label: "dw")
            let products: [(String, MatmulShape, DeviceBuffer, DeviceBuffer, DeviceBuffer)] = [
                ("fwd", MatmulShape(m: m, n: n, k: k), x, w, y),
                ("dX", MatmulShape(m: m, n: k, k: n, transposeB: true), dy, w, dx),
                ("dW", MatmulShape(m: k, n: n, k: m, transposeA: true), x, dy, dw),
            ]
            for (op, shape, a, b, c) in products {
                let seconds = try medianSeconds { try device.matmul(shape, a: a, b: b, c: c) }
                var clblast: Double?
                if let openCL, CLBlast.unavailableReason == nil {
                    do {
                        let clblastSeconds = try medianSeconds { try openCL.clblastMatmul(shape, a: a, b: b, c: c) }
                        clblast = shape.flops / clblastSeconds * 1e-9
                    } catch {
                        log("CLBlast failed on \(shape.operationName): \(error)")
                    }
                }
                report(result("matmul", op, "\(m)x\(k)x\(n)", seconds: seconds, flops: shape.flops, clblast: clblast))
            }
        }
    }

    /// Cross-entropy over a 512×8192 vocabulary: forward reads the logits once, backward reads
    /// them and writes their gradient.
    private func softmaxCrossEntropy(report: (KernelBenchmarkResult) -> Void) throws {
        let (rows, columns) = (512, 8192)
        let logits = try randomBuffer(rows * columns, "logits")
        let targets = try device.makeBuffer(count: rows, dtype: .int32, label: "targets")
        try device.write((0..<rows).map { Int32($0 * 37 % columns) }, to: targets)
        let losses = try randomBuffer(rows, "losses")
        let logSumExp = try randomBuffer(rows, "logSumExp")
        let dLosses = try randomBuffer(rows, "dLosses")
        let dLogits = try device.makeBuffer(count: rows * columns, dtype: .float32, label: "dLogits")
        let bytes = Double(rows * columns * 4)
        let forward = try medianSeconds {
            try device.crossEntropy(
                logits: logits, targets: targets, losses: losses, logSumExp: logSumExp,
                rows: rows, columns: columns, ignoreIndex: -100)
        }
        let backward = try medianSeconds {
            try device.crossEntropyBackward(
                logits: logits, targets: targets, logSumExp: logSumExp, dLosses: dLosses,
                dLogits: dLogits, rows: rows, columns: columns, ignoreIndex: -100)
        }
        let shape = "\(rows)x\(columns)"
        report(result("softmax_cross_entropy", "fwd", shape, seconds: forward, bytes: bytes))
        report(result("softmax_cross_entropy", "bwd", shape, seconds: backward, bytes: 2 * bytes))
    }

    /// Layer norm of 512 rows of 768: forward reads x and writes y; backward reads x and dy and
    /// writes dx.
    private func layerNorm(report: (KernelBenchmarkResult) -> Void) throws {
        let (rows, columns) = (512, 768)
        let x = try randomBuffer(rows * columns, "x")
        let dy = try randomBuffer(rows * columns, "dy", seed: 2)
        let weight = try randomBuffer(columns, "weight")
        let bias = try randomBuffer(columns, "bias")
        let y = try device.makeBuffer(count: rows * columns, dtype: .float32, label: "y")
        let dx = try device.makeBuffer(count: rows * columns, dtype: .float32, label: "dx")
        let mean = try device.makeBuffer(count: rows, dtype: .float32, label: "mean")
        let rstd = try device.makeBuffer(count: rows, dtype: .float32, label: "rstd")
        let dWeight = try device.makeBuffer(count: columns, dtype: .float32, label: "dWeight")
        let dBias = try device.makeBuffer(count: columns, dtype: .float32, label: "dBias")
        let bytes = Double(rows * columns * 4)
        let forward = try medianSeconds {
            try device.layerNorm(
                x, weight: weight, bias: bias, out: y, mean: mean, rstd: rstd,
                rows: rows, columns: columns, epsilon: 1e-5)
        }
        let backward = try medianSeconds {
            try device.layerNormBackward(
                x, weight: weight, mean: mean, rstd: rstd, dy: dy, dx: dx,
                dWeight: dWeight, dBias: dBias, rows: rows, columns: columns)
        }
        let shape = "\(rows)x\(columns)"
        report(result("layernorm", "fwd", shape, seconds: forward, bytes: 2 * bytes))
        report(result("layernorm", "bwd", shape, seconds: backward, bytes: 3 * bytes))
    }

    /// Causal attention, B = 8, H = 6, T = 256, d = 64. Flops count the causal half of the score
    /// matrix: forward 2 products (Q·Kᵀ, P·V), backward 5 (recomputed scores, dV, dP, dQ, dK).
    private func attention(report: (KernelBenchmarkResult) -> Void) throws {
        let shape = AttentionShape(batch: 8, queryHeads: 6, queryLength: 256, headDim: 64)
        let q = try randomBuffer(shape.queryCount, "q")
        let k = try randomBuffer(shape.keyCount, "k", seed: 2)
        let v = try randomBuffer(shape.keyCount, "v", seed: 3)
        let dOut = try randomBuffer(shape.queryCount, "dOut", seed: 4)
        let out = try device.makeBuffer(count: shape.queryCount, dtype: .float32, label: "out")
        let logSumExp = try device.makeBuffer(count: shape.logSumExpCount, dtype: .float32, label: "logSumExp")
        let dq = try device.makeBuffer(count: shape.queryCount, dtype: .float32, label: "dq")
        let dk = try device.makeBuffer(count: shape.keyCount, dtype: .float32, label: "dk")
        let dv = try device.makeBuffer(count: shape.keyCount, dtype: .float32, label: "dv")
        let product =
            2 * Double(shape.batch * shape.queryHeads * shape.queryLength * shape.keyLength * shape.headDim) / 2
        let forward = try medianSeconds {
            try device.attention(shape, q: q, k: k, v: v, masks: .none, out: out, logSumExp: logSumExp)
        }
        let backward = try medianSeconds {
            try device.attentionBackward(
                shape, q: q, k: k, v: v, masks: .none, out: out, logSumExp: logSumExp,
                dOut: dOut, dq: dq, dk: dk, dv: dv)
        }
        let name = "\(shape.batch)x\(shape.queryHeads)x\(shape.queryLength)x\(shape.headDim)"
        report(result("attention", "fwd", name, seconds: forward, flops: 2 * product))
        report(result("attention", "bwd", name, seconds: backward, flops: 5 * product))
    }

    /// One AdamW update of 10M parameters: reads parameters, gradients and both moments, writes
    /// parameters and moments.
    private func adamW(report: (KernelBenchmarkResult) -> Void) throws {
        let count = 10_000_000
        let parameters = try randomBuffer(count, "parameters")
        let gradients = try randomBuffer(count, "gradients", seed: 2)
        let first = try device.makeBuffer(count: count, dtype: .float32, label: "m")
        let second = try device.makeBuffer(count: count, dtype: .float32, label: "v")
        let seconds = try medianSeconds {
            try device.adamW(
                parameters: parameters, gradients: gradients, firstMoment: first, secondMoment: second,
                count: count, decayCount: count, step: AdamWStep(learningRate: 1e-4, step: 1))
        }
        report(result("adamw", "update", "\(count)", seconds: seconds, bytes: Double(7 * 4 * count)))
    }

    /// Memory bandwidth of a plain copy of 64 MiB.
    private func copy(report: (KernelBenchmarkResult) -> Void) throws {
        let count = 16 * 1024 * 1024
        let source = try randomBuffer(count, "source")
        let destination = try device.makeBuffer(count: count, dtype: .float32, label: "destination")
        let seconds = try medianSeconds { try copyFloats(from: source, to: destination, count: count) }
        report(result("copy", "fwd", "\(count)", seconds: seconds, bytes: Double(2 * 4 * count)))
    }

    /// The plain copy being timed: the OpenCL device's `copy_floats` kernel (the reference
    /// device has none, so it times `copy2D` with one row).
    private func copyFloats(from source: DeviceBuffer, to destination: DeviceBuffer, count: Int) throws {
        if let openCL = device as? OpenCLDevice {
            try openCL.copyBandwidthKernel(from: source, to: destination, count: count)
        } else {
            try device.copy2D(
                from: source, sourceOffset: 0, sourceRowStride: count, to: destination, destinationOffset: 0,
                destinationRowStride: count, rows: 1, columns: count, accumulate: false)
        }
    }
}
