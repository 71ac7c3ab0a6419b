import Core
import Foundation
import Models
import Optimizers
import Tensors

/// The one training loop, which every stage runs (pretraining included), so each stage writes
/// only what one step does: resume from the latest checkpoint, run the steps with their
/// learning rates, append each step's figures to `metrics.jsonl` and emit them (the same
/// definitions for every stage, see `StepMetrics`), evaluate every `eval_every` steps,
/// checkpoint every `checkpoint_every` steps and at the end, and when an interruption is
/// requested, checkpoint and stop.
///
/// A step's data must follow from its index and the seed alone (`EpochOrder`, or the token
/// windows a step index reaches in pretraining), which is what makes the resumed run take the
/// same steps as an uninterrupted one: a checkpoint holds only the step and each trainee's
/// weights and AdamW moments.
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
    public let trainees: [Trainee]
    /// The LoRA adapters being trained: their dropout is on during steps (seeded by the step)
    /// and off during evaluation.
    public var adapters: [LoRAAdapters] = []
    private let settings: LoopSchedule
    private let schedule: LearningRateSchedule
    private let baseLearningRate: Float
    private let gradientClip: Float
    /// The learning rate of the step being run.
    private var learningRate: Float = 0
    private let device: Device
    private let interruption: Interruption
    private let emit: (TrainingEvent) -> Void

    /// A loop over `settings.steps` steps training `trainees` (the first is the one whose
    /// learning rate and gradient norm are reported) with `optim`'s schedule and clipping,
    /// stopping cleanly when `interruption` is requested.
    public init(
        run: RunDirectory, trainees: [Trainee], settings: LoopSchedule, optim: OptimizerSettings,
        interruption: Interruption, emit: @escaping (TrainingEvent) -> Void
    ) {
        precondition(!trainees.isEmpty, "a stage trains at least one model")
        self.run = run
        self.trainees = trainees
        self.settings = settings
        schedule = optim.makeSchedule(steps: settings.steps)
        baseLearningRate = Float(optim.learningRate)
        gradientClip = Float(optim.gradientClip)
        device = trainees[0].store.device
        self.interruption = interruption
        self.emit = emit
    }

    /// Runs the remaining steps: `step(index)` does one step's forward, backward and updates
    /// (through `update`, which applies the step's learning rate); `evaluate()` returns
    /// held-out figures (`eval/loss` is reported as `val_loss`). Returns false when interrupted
    /// (after checkpointing), true when every step is done.
    public func callAsFunction(
        step: (_ index: Int) throws -> StepResult,
        evaluate: (() throws -> [String: Double])? = nil
    ) throws -> Bool {
        var start = 0
        if let step = try TrainerCheckpoint.restoreLatest(in: run.url, trainees, note: { emit(.note($0)) }) {
            start = step
        }
        // Steps after the checkpoint (or every step, without one) are run again.
        try run.truncateMetrics(after: start)
        let parameters = trainees.reduce(0) { $0 + $1.store.layout.parameterCounts.trainable }
        emit(
            .started(
                runDirectory: run.url.path, device: device.name, parameters: parameters,
                deviceBytes: device.memoryInUse, resumedAtStep: start > 0 ? start : nil))
        var secondsPerStep: Double?
        var nonFiniteInARow = 0
        var skippedSteps = 0
        for index in start..<settings.steps {
            if interruption.isRequested {
                try checkpoint(step: index)
                emit(.note("interrupted at step \(index); resume with --resume"))
                return false
            }
            let started = Date()
            learningRate = schedule.learningRate(base: baseLearningRate, atStep: index)
            adapters.forEach { $0.dropoutSeed = UInt64(settings.seed) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) }
            let result = try step(index)
            adapters.forEach { $0.dropoutSeed = nil }
            let trainingSeconds = Date().timeIntervalSince(started)
            let done = index + 1
            var extra = result.extra
            let finite = result.loss.isFinite && result.gradientNorm.isFinite
            nonFiniteInARow = finite ? 0 : nonFiniteInARow + 1
            if !finite {
                skippedSteps += 1
                extra["skipped_steps"] = Double(skippedSteps)
            }
            if let evaluate, settings.evalEvery > 0, done % settings.evalEvery == 0 || done == settings.steps {
                try Tensor.withNoGrad { try evaluate() }.forEach { extra[$0.key] = $0.value }
            }
            let stepSeconds = Date().timeIntervalSince(started)
            secondsPerStep = secondsPerStep.map { 0.9 * $0 + 0.1 * stepSeconds } ?? stepSeconds
            let metrics = StepMetrics(
                step: done, totalSteps: settings.steps, loss: result.loss, learningRate: Double(learningRate),
                gradientNorm: result.gradientNorm, tokensPerSecond: Double(result.tokens) / max(trainingSeconds, 1e-9),
                validationLoss: extra.removeValue(forKey: "eval/loss").map { loss in
                    latestValidationLoss = loss
                    return loss
                },
                secondsRemaining: Double(settings.steps - done) * (secondsPerStep ?? stepSeconds), extra: extra)
            try run.appendMetrics(metrics)
            emit(.step(metrics))
            if !finite, settings.onNonfinite == .stop || nonFiniteInARow > settings.maxSkippedSteps {
                // A non-finite norm updated nothing, so the weights are still those after step `index`.
                let safe = result.gradientNorm.isFinite ? done : index
                try checkpoint(step: safe)
                throw NonFiniteStepError(
                    step: done, loss: result.loss, gradientNorm: result.gradientNorm, checkpointStep: safe,
                    inARow: nonFiniteInARow)
            }
            if done % max(settings.checkpointEvery, 1) == 0 || done == settings.steps {
                try checkpoint(step: done)
            }
        }
        if device.peakMemoryInUse > 0 {
            emit(.note(String(format: "peak device memory %.1f MiB", Double(device.peakMemoryInUse) / 1_048_576)))
        }
        return true
    }

    /// Updates `trainee` (`Trainee.update`, with the recipe's clipping) at the current step's
    /// learning rate (the recipe's schedule at this step); a step whose gradient norm is not
    /// finite is skipped and said. Returns the norm before clipping.
    @discardableResult
    public func update(_ trainee: Trainee, whileIdle: () throws -> Void = {}) throws -> Float {
        let (norm, updated) = try trainee.update(
            learningRate: learningRate, gradientClip: gradientClip, whileIdle: whileIdle)
        if !updated { emit(.note("\(trainee.name): gradient norm \(norm); update skipped")) }
        return norm
    }

    /// The validation loss of the latest evaluation, kept with the next checkpoint for `keep_best`.
    private var latestValidationLoss: Double?

    /// Writes the checkpoint of `step`, then removes the checkpoints retention no longer keeps.
    private func checkpoint(step: Int) throws {
        let url = try TrainerCheckpoint(step: step, validationLoss: latestValidationLoss)
            .write(trainees, runDirectory: run.url)
        emit(.checkpoint(step: step, path: url.path))
        try TrainerCheckpoint.prune(
            in: run.url, keepingNewest: settings.keepCheckpoints, keepingBest: settings.keepBest)
    }
}

/// What the loop needs of a recipe's `train:` section.
public protocol LoopSchedule {
    /// Optimizer steps (PPO and GRPO: rollout iterations).
    var steps: Int { get }
    /// Evaluate every this many steps (and at the end); 0 turns it off.
    var evalEvery: Int { get }
    /// Write a checkpoint every this many steps (and at the end).
    var checkpointEvery: Int { get }
    /// The run's seed (LoRA dropout is seeded from it and the step).
    var seed: Int { get }
    /// What a step whose loss or gradient norm is not finite does to the run.
    var onNonfinite: NonFinitePolicy { get }
    /// With `skip`, the most non-finite steps in a row before the run stops anyway.
    var maxSkippedSteps: Int { get }
    /// Checkpoints kept, the newest ones; 0 keeps every one.
    var keepCheckpoints: Int { get }
    /// Whether the checkpoint with the lowest validation loss is kept as well.
    var keepBest: Bool { get }
}

/// What a non-finite step (NaN or ±Inf loss or gradient norm) does (`train.on_nonfinite`). In
/// both cases a step whose gradient norm is not finite updates nothing (`Trainee.update`).
public enum NonFinitePolicy: String, ConfigChoice {
    /// Stop the run with an error naming the step and the value, after checkpointing the last
    /// finite state.
    case stop
    /// Go on to the next step, counting the skipped ones; stop after `max_skipped_steps` in a row.
    case skip
}

/// A run stopped by a non-finite step: what it was, and where its last finite state is.
public struct NonFiniteStepError: Error, CustomStringConvertible {
    public var step: Int
    public var loss: Double
    public var gradientNorm: Double
    /// The step of the checkpoint written before stopping.
    public var checkpointStep: Int
    /// Non-finite steps in a row (more than one only under `skip`).
    public var inARow: Int

    public var description: String {
        "step \(step): the loss is \(loss) and the gradient norm \(gradientNorm)"
            + (inARow > 1 ? " (\(inARow) non-finite steps in a row, more than train.max_skipped_steps)" : "")
            + "; the run stopped with its last finite state checkpointed at step \(checkpointStep) "
            + "(continue with --resume). Likely causes: a learning rate too high (optim.learning_rate), "
            + "optim.beta1 or beta2 too close to 1, or bad data; train.on_nonfinite: skip steps past such steps"
    }
}
