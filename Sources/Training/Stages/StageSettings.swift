import Core
import Datasets
import Formats
import Optimizers
import Tensors

/// Where a run goes (every stage's `run:` section).
public struct RunSettings: Codable, Equatable, Sendable {
    /// Run name; empty takes the config file's stem.
    public var name = ""
    /// Folder that holds run directories.
    public var out = "runs"

    public init() {}
}

/// AdamW and its schedule (every stage's `optim:` section).
public struct OptimizerSettings: Codable, Equatable, Sendable {
    public var learningRate = 1e-3
    /// The decay after `warmup_steps` of linear warmup.
    public var schedule = ScheduleKind.cosine
    public var warmupSteps = 20
    /// AdamW's constants; the defaults are the project's one set (`AdamWStep.Defaults`).
    public var weightDecay = AdamWStep.Defaults.weightDecay
    public var beta1 = AdamWStep.Defaults.beta1
    public var beta2 = AdamWStep.Defaults.beta2
    public var epsilon = AdamWStep.Defaults.epsilon
    /// Global gradient-norm clipping; 0 turns it off.
    public var gradientClip = 1.0

    /// AdamW over the trainable parameters of `store`.
    public func makeOptimizer(for store: ParameterStore) throws -> AdamW {
        try AdamW(
            store: store, learningRate: Float(learningRate), beta1: Float(beta1), beta2: Float(beta2),
            epsilon: Float(epsilon), weightDecay: Float(weightDecay))
    }

    /// The learning-rate schedule over `steps` optimizer steps.
    public func makeSchedule(steps: Int) -> LearningRateSchedule {
        switch schedule {
        case .cosine: return .cosine(warmupSteps: warmupSteps, totalSteps: steps)
        case .linear: return .linear(warmupSteps: warmupSteps, totalSteps: steps)
        case .constant: return .constantWithWarmup(warmupSteps: warmupSteps)
        }
    }

    /// The learning-rate decays a recipe can name (`optim.schedule`).
    public enum ScheduleKind: String, ConfigChoice {
        case cosine, linear, constant
    }
}

/// The model a post-training stage starts from (`model:` section).
public struct InitSettings: Codable, Equatable, Sendable {
    /// The model folder to start from (a run's `final/` or a Hugging Face download).
    public var initFrom = ""
}

/// The chat data of a post-training stage (`data:` section).
public struct ChatDataSettings: Codable, Equatable, Sendable {
    /// The JSONL file (TRL's formats: docs/formats.md §4, §6).
    public var path = ""
    /// Fraction of the examples held out for evaluation (the last ones after a seeded shuffle).
    public var heldoutFraction = 0.1
    /// The chat template: the model folder's (ChatML when it names none), or a named one.
    public var template = ChatTemplateChoice.auto
    /// Most tokens of a whole example; longer ones are dropped and counted.
    public var maxLength = 256
    /// Most prompt tokens; longer prompts lose their oldest tokens. 0 for no limit.
    public var maxPromptLength = 0

    /// The length limits these settings describe.
    public var limits: ChatLengthLimits {
        ChatLengthLimits(
            maxLength: maxLength > 0 ? maxLength : nil, maxPromptLength: maxPromptLength > 0 ? maxPromptLength : nil)
    }
}

/// The chat template a recipe names (`data.template`).
public enum ChatTemplateChoice: String, ConfigChoice {
    /// The model folder's `tokenizer_config.json` template, ChatML when it has none.
    case auto
    case chatml
    case llama3
    /// Llama 3.1/3.2's template (with the knowledge-cutoff system lines).
    case llama3_1 = "llama3.1"
}

/// The loop of a post-training stage (`train:` section).
public struct LoopSettings: Codable, Equatable, Sendable {
    /// Optimizer steps (PPO and GRPO: rollout iterations).
    public var steps = 100
    /// Examples (pairs, prompts) per micro-batch.
    public var batchSize = 8
    /// Micro-batches per optimizer step.
    public var gradientAccumulation = 1
    /// Evaluate on the held-out examples every this many steps (and at the end); 0 turns it off.
    public var evalEvery = 50
    /// Write a checkpoint every this many steps (and at the end).
    public var checkpointEvery = 50
    public var seed = 1234
    /// What a step with a non-finite loss or gradient norm does: `stop` the run (after
    /// checkpointing the last finite state) or `skip` it.
    public var onNonfinite = NonFinitePolicy.stop
    /// With `skip`, the most non-finite steps in a row before the run stops anyway.
    public var maxSkippedSteps = 5
    /// Checkpoints kept, the newest ones (older ones are removed as new ones are written); 0 keeps all.
    public var keepCheckpoints = 3
    /// Also keep the checkpoint with the lowest validation loss.
    public var keepBest = false
}

/// A stage's recipe: where its run goes and on which device, plus the stage's own sections.
public protocol StageConfiguration: Configuration {
    var run: RunSettings { get }
    /// The device (`gputrain devices`); empty picks the default.
    var device: String { get }
    /// The kernel variants (`KernelVariant`); empty leaves the choice to the environment.
    var kernels: String { get }
}

extension PretrainConfig: TrainingConfiguration {}
extension PretrainConfig.Train: LoopSchedule {}
extension LoopSettings: LoopSchedule {}
