import Core
import Datasets
import Foundation
import Models
import OpenCLDevice
import Optimizers
import Tensors
import Training

/// `gputrain bench train`: times full training steps (`TrainingStep`: forward, backward,
/// clipping, AdamW at a constant learning rate) of a fresh, Hugging Face-initialised model on
/// random tokens, float32, dropout off, after warm-up steps, and reports the median step
/// against the device's matmul rate (model FLOPs utilisation).
///
/// The peak is a quoted rate or, by default, the fastest of a few `peakMatmulSize`³ matmuls
/// timed on the same device after the training steps (so their buffers count in neither
/// memory peak). With
/// `profile` and an OpenCL device opened with profiling, the result also holds each kernel's
/// time and launches over the timed steps.
public struct TrainBenchmark {
    public var device: Device
    public var shape: TrainBenchmarkShape
    /// Timed steps (the median is reported) and untimed warm-up steps before them.
    public var steps: Int
    public var warmupSteps = 3
    /// AdamW's constant learning rate; its other constants are `torch.optim.AdamW`'s defaults
    /// (betas 0.9/0.999, ε 1e-8, weight decay 0.01), as the PyTorch reference uses them.
    public var learningRate: Float = 3e-4
    /// Gradient-norm clipping as pretraining does it; 0 turns it off.
    public var gradientClip: Float = 1
    /// A quoted peak in GFLOP/s; nil measures it.
    public var peakGFLOPS: Double?
    /// Side of the square matmul that measures the peak.
    public var peakMatmulSize = 2048
    /// Collect the per-kernel profile (needs an OpenCL device made with `profiling: true`).
    public var profile = false
    /// Seed of the weights and the tokens.
    public var seed: UInt64 = 0
    /// Where progress goes (stderr in the CLI).
    public var log: (String) -> Void

    /// A benchmark of `shape` on `device` over `steps` timed steps.
    public init(device: Device, shape: TrainBenchmarkShape, steps: Int, log: @escaping (String) -> Void = { _ in }) {
        self.device = device
        self.shape = shape
        self.steps = max(1, steps)
        self.log = log
    }

    /// Runs the warm-up and timed steps, then measures the peak unless one was quoted.
    public func run() throws -> TrainBenchmarkResult {
        let timed = try timeSteps()
        // Read before the peak matmul allocates its own buffers.
        let peakDeviceBytes = device.peakMemoryInUse
        let peakRSSBytes = Self.peakResidentBytes()
        let peak = try peakGFLOPS ?? measurePeakGFLOPS()
        let secondsPerStep = Self.median(timed.seconds)
        let tokensPerSecond = Double(shape.tokensPerStep) / secondsPerStep
        return TrainBenchmarkResult(
            preset: shape.name, msPerStep: secondsPerStep * 1000, tokensPerSecond: tokensPerSecond,
            mfu: shape.flopsPerToken * tokensPerSecond / (peak * 1e9), peakDeviceBytes: peakDeviceBytes,
            peakRSSBytes: peakRSSBytes, device: device.name, stepMilliseconds: timed.seconds.map { $0 * 1000 },
            loss: timed.loss, flopsPerToken: shape.flopsPerToken, peakGFLOPS: peak, peakIsMeasured: peakGFLOPS == nil,
            parameterCount: shape.parameterCount, profile: timed.profile)
    }

    /// Builds the model and optimizer, runs the warm-up steps, then times each step up to the
    /// device having finished it. The model is freed on return.
    private func timeSteps() throws -> (seconds: [Double], loss: Double, profile: [KernelTime]?) {
        log(
            "\(shape.name): \(shape.model.modelType.rawValue), \(shape.parameterCount) parameters, "
                + "B=\(shape.batchSize) T=\(shape.sequenceLength), on \(device.name)")
        let store = try ParameterStore(device: device, specs: ModelParameters.specs(for: shape.model), label: "model")
        let model = try makeLanguageModel(config: shape.model, parameters: store)
        try WeightInitializer.initialize(model, seed: seed)
        let optimizer = try AdamW(
            store: store, learningRate: learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01)
        let trainee = Trainee(name: "model", store: store, optimizer: optimizer)
        let step = TrainingStep(model: model)
        var sampler = try randomTokens()
        let openCL = device as? OpenCLDevice
        var seconds: [Double] = []
        var loss = 0.0
        for index in 0..<(warmupSteps + steps) {
            if index == warmupSteps { openCL?.resetCounters() }
            let batch = sampler.next()
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome = try step.run(batches: [batch]) {
                try trainee.update(learningRate: learningRate, gradientClip: gradientClip, whileIdle: $0).gradientNorm
            }
            try device.synchronize()
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            loss = outcome.loss
            let warmup = index < warmupSteps
            if !warmup { seconds.append(elapsed) }
            log(
                String(
                    format: "%@ %d/%d: %.1f ms, loss %.4f", warmup ? "warm-up" : "step",
                    warmup ? index + 1 : index - warmupSteps + 1,
                    warmup ? warmupSteps : steps, elapsed * 1000, outcome.loss))
        }
        return (seconds, loss, profile ? kernelTimes(openCL) : nil)
    }

    /// A sampler over fresh uniform random tokens, enough for every step to see new ones.
    private func randomTokens() throws -> BatchSampler {
        var random = SeededGenerator(seed: seed &+ 1)
        let vocabulary = UInt64(shape.model.vocabSize)
        let tokens = (0...(shape.tokensPerStep * (warmupSteps + steps))).map { _ in Int32(random.next() % vocabulary) }
        return try BatchSampler(
            count: tokens.count, token: { tokens[$0] }, batchSize: shape.batchSize,
            sequenceLength: shape.sequenceLength, seed: seed, shuffle: false)
    }

    /// Each kernel's seconds and launches over the timed steps, slowest first.
    private func kernelTimes(_ openCL: OpenCLDevice?) -> [KernelTime]? {
        guard let openCL, !openCL.kernelSeconds.isEmpty else {
            log("no kernel profile: it needs an OpenCL device opened with profiling")
            return nil
        }
        return openCL.launchCounts.map {
            KernelTime(kernel: $0.key, seconds: openCL.kernelSeconds[$0.key] ?? 0, launches: $0.value)
        }
        .sorted { $0.seconds != $1.seconds ? $0.seconds > $1.seconds : $0.kernel < $1.kernel }
    }

    /// GFLOP/s of one square matmul on the device: the fastest of five after a warm-up (a peak
    /// is the best the device does; other processes on a shared machine only slow calls down).
    private func measurePeakGFLOPS() throws -> Double {
        let n = peakMatmulSize
        log("measuring the peak: \(n)×\(n)×\(n) matmul")
        var random = SeededGenerator(seed: seed &+ 2)
        let a = try device.makeBuffer(count: n * n, dtype: .float32, label: "peak A")
        let b = try device.makeBuffer(count: n * n, dtype: .float32, label: "peak B")
        let c = try device.makeBuffer(count: n * n, dtype: .float32, label: "peak C")
        try device.write((0..<(n * n)).map { _ in random.nextUniform() - 0.5 }, to: a)
        try device.write((0..<(n * n)).map { _ in random.nextUniform() - 0.5 }, to: b)
        let product = MatmulShape(m: n, n: n, k: n)
        var seconds: [Double] = []
        for repeatIndex in 0..<6 {
            let start = DispatchTime.now().uptimeNanoseconds
            try device.matmul(product, a: a, b: b, c: c)
            try device.synchronize()
            if repeatIndex > 0 { seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9) }
        }
        let gflops = product.flops / (seconds.min() ?? 1) * 1e-9
        log(String(format: "peak: %.1f GFLOP/s", gflops))
        return gflops
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The process's peak resident memory in bytes (`getrusage`'s ru_maxrss: KiB on Linux, bytes on macOS).
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        #if os(Linux)
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return Int(usage.ru_maxrss) * 1024
        #else
            getrusage(RUSAGE_SELF, &usage)
            return Int(usage.ru_maxrss)
        #endif
    }
}

/// One kernel's share of the timed steps (from OpenCL profiling events).
public struct KernelTime: Equatable {
    public var kernel: String
    /// Seconds over all timed steps.
    public var seconds: Double
    /// Launches over all timed steps.
    public var launches: Int
}
