import Models
import Core
import Foundation
import Optimizers
import Tensors

/// The loop every post-training stage shares, so each stage writes only what one step does:
/// resume from the latest checkpoint, run the steps with their learning rates, append each
/// step's figures to `metrics.jsonl` and emit them (with tokens/s and an ETA), evaluate every
/// `eval_every` steps, checkpoint every `checkpoint_every` steps and at the end, and on Ctrl-C
/// checkpoint and stop.
///
/// A step's data must follow from its index and the seed alone (see `EpochOrder`), which is
/// what makes the resumed run take the same steps as an uninterrupted one.
public final class StageLoop {
    /// What one step reports.
    public struct StepResult {
        /// The step's loss (the stage's own objective).
        public var loss: Double
        /// Global gradient norm before clipping (of the first trainee, for PPO the policy).
        public var gradientNorm: Double
        /// Tokens processed, for tokens/s.
        public var tokens: Int
        /// The stage's own figures.
        public var extra: [String: Double]

        public init(loss: Double, gradientNorm: Double, tokens: Int, extra: [String: Double] = [:]) {
            self.loss = loss
            self.gradientNorm = gradientNorm
            self.tokens = tokens
            self.extra = extra
        }
    }

    public let run: RunDirectory
    public let trainees: [TrainerCheckpoint.Trainee]
    public let settings: LoopSettings
    /// The LoRA adapters being trained: their dropout is on during steps (seeded by the step)
    /// and off during evaluation.
    public var adapters: [LoRAAdapters] = []
    private let schedule: LearningRateSchedule
    private let baseLearningRate: Float
    private let gradientClip: Float
    private let device: Device
    private let emit: (TrainingEvent) -> Void

    /// A loop over `settings.steps` steps training `trainees` (the first is the one whose
    /// learning rate and gradient norm are reported) with `optim`'s schedule.
    public init(run: RunDirectory, trainees: [TrainerCheckpoint.Trainee], settings: LoopSettings, optim: OptimizerSettings,
                emit: @escaping (TrainingEvent) -> Void) throws {
        precondition(!trainees.isEmpty, "a stage trains at least one model")
        self.run = run
        self.trainees = trainees
        self.settings = settings
        schedule = try optim.makeSchedule(steps: settings.steps)
        baseLearningRate = Float(optim.learningRate)
        gradientClip = Float(optim.gradientClip)
        device = trainees[0].store.device
        self.emit = emit
    }

    /// Runs the remaining steps: `step(index, learningRate)` does one step's forward, backward
    /// and updates (through `update`); `evaluate()` returns held-out figures. Returns false when
    /// interrupted (after checkpointing), true when every step is done.
    public func callAsFunction(
        step: (_ index: Int, _ learningRate: Float) throws -> StepResult, evaluate: (() throws -> [String: Double])? = nil
    ) throws -> Bool {
        var start = 0
        if let latest = TrainerCheckpoint.latest(in: run.url) {
            start = try TrainerCheckpoint.restore(from: latest, trainees).step
            try run.truncateMetrics(after: start)
        }
        let parameters = trainees.reduce(0) { $0 + $1.store.layout.parameterCounts.trainable }
        emit(.started(runDirectory: run.url.path, device: device.name, parameters: parameters,
                      deviceBytes: device.memoryInUse, resumedAtStep: start > 0 ? start : nil))
        var secondsPerStep: Double?
        for index in start..<settings.steps {
            if InterruptFlag.isRaised {
                try checkpoint(step: index)
                emit(.note("interrupted at step \(index); resume with --resume"))
                return false
            }
            let started = Date()
            let learningRate = schedule.learningRate(base: baseLearningRate, atStep: index)
            adapters.forEach { $0.dropoutSeed = UInt64(settings.seed) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) }
            let result = try step(index, learningRate)
            adapters.forEach { $0.dropoutSeed = nil }
            let done = index + 1
            var extra = result.extra
            if let evaluate, settings.evalEvery > 0, done % settings.evalEvery == 0 || done == settings.steps {
                try Tensor.withNoGrad { try evaluate() }.forEach { extra[$0.key] = $0.value }
            }
            let elapsed = Date().timeIntervalSince(started)
            secondsPerStep = secondsPerStep.map { 0.9 * $0 + 0.1 * elapsed } ?? elapsed
            let metrics = StepMetrics(
                step: done, totalSteps: settings.steps, loss: result.loss, learningRate: Double(learningRate),
                gradientNorm: result.gradientNorm, tokensPerSecond: Double(result.tokens) / max(elapsed, 1e-9),
                validationLoss: extra.removeValue(forKey: "eval/loss"),
                secondsRemaining: Double(settings.steps - done) * (secondsPerStep ?? elapsed), extra: extra)
            try run.appendMetrics(metrics)
            emit(.step(metrics))
            if done % max(settings.checkpointEvery, 1) == 0 || done == settings.steps {
                try checkpoint(step: done)
            }
        }
        if device.peakMemoryInUse > 0 {
            emit(.note(String(format: "peak device memory %.1f MiB", Double(device.peakMemoryInUse) / 1_048_576)))
        }
        return true
    }

    /// Clips `trainee`'s gradients and takes its AdamW step at `learningRate`; a step whose
    /// gradient norm is not finite is skipped (and said). Returns the norm before clipping.
    @discardableResult
    public func update(_ trainee: TrainerCheckpoint.Trainee, learningRate: Float) throws -> Float {
        let store = trainee.store
        let norm = gradientClip > 0 ? try store.clipGradientNorm(maxNorm: gradientClip) : try store.gradientNorm()
        guard norm.isFinite else {
            emit(.note("\(trainee.name): gradient norm \(norm); update skipped"))
            return norm
        }
        try trainee.optimizer.step(learningRate: learningRate)
        return norm
    }

    private func checkpoint(step: Int) throws {
        let url = try TrainerCheckpoint(step: step).write(trainees, runDirectory: run.url)
        emit(.checkpoint(step: step, path: url.path))
    }
}
