import Datasets
import Formats

/// The GRPO recipe (`gputrain grpo --config …`, the `grpo:` section of a pipeline config):
/// TRL's `GRPOConfig` names where they exist.
public struct GRPOConfig: Configuration, Equatable {
    public var run = RunSettings()
    public var model = InitSettings()
    /// The RL prompts (`rl_prompts.jsonl`); `max_length` bounds prompt + completion.
    public var data = ChatDataSettings()
    /// `steps` are rollout iterations; `batch_size` counts prompts per step.
    public var train = LoopSettings()
    public var optim = OptimizerSettings()
    /// LoRA (rank > 0): train adapters on frozen weights instead of every weight.
    public var lora = LoRASettings()
    /// How completions are sampled (`max_new_tokens` is TRL's `max_completion_length`).
    public var rollout = RolloutSettings()
    /// Completions sampled per prompt: the group whose rewards set each other's baseline.
    public var numGenerations = 8
    /// Optimizer steps on each rollout (TRL's μ); above 1 the ratio is taken against the
    /// log-probs of the sampling policy, computed once.
    public var numIterations = 1
    /// ε_low of the ratio clip.
    public var epsilon = 0.2
    /// ε_high of the ratio clip; 0 takes `epsilon`.
    public var epsilonHigh = 0.0
    /// Weight of the k3 KL penalty against the frozen starting model; 0 loads no reference.
    public var beta = 0.0
    /// How per-token losses are aggregated.
    public var lossType = LossType.dapo
    /// How rewards are scaled into advantages.
    public var scaleRewards = GRPOAdvantages.Scaling.group
    /// The reward functions by name with their weights (`RewardSet.choices`).
    public var rewards = [RewardSpec(name: "exact_match", weight: 1), RewardSpec(name: "format", weight: 0.5)]
    /// The reward model folder the `reward_model` reward reads.
    public var rewardModel = ""
    /// Words at which the `length` reward reaches 0.
    public var lengthLimit = 32
    /// The device (`gputrain devices`); empty picks the default.
    public var device = ""
    /// The kernel variants (`auto`, `cpu`, `gpu`); empty leaves it to `GPUTRAIN_KERNELS`, else `auto`.
    public var kernels = ""

    public init() {
        data.path = "runs/tiny-world-data/world/rl_prompts.jsonl"
        data.maxLength = 128
        train.steps = 40
        train.batchSize = 8
        train.evalEvery = 20
        train.checkpointEvery = 10
        optim.learningRate = 1e-4
        optim.schedule = .constant
        optim.warmupSteps = 0
        optim.weightDecay = 0
        rollout.maxNewTokens = 24
    }

    /// The loss `epsilon`, `epsilon_high`, `beta` and `loss_type` describe.
    public func loss() -> GRPOLoss {
        let aggregation: GRPOLoss.Aggregation
        switch lossType {
        case .grpo: aggregation = .grpo
        case .bnpo: aggregation = .bnpo
        case .dapo: aggregation = .dapo(tokenCount: 0)
        case .drGRPO: aggregation = .drGRPO(maxCompletionLength: rollout.maxNewTokens)
        }
        return GRPOLoss(
            epsilonLow: Float(epsilon), epsilonHigh: epsilonHigh > 0 ? Float(epsilonHigh) : nil,
            beta: Float(beta), aggregation: aggregation)
    }

    /// Throws unless the settings are in range, naming the field and what it takes.
    public func validate() throws {
        try validatePostTraining()
        try rollout.validate()
        try ConfigError.require(
            rollout.temperature > 0, "rollout.temperature", rollout.temperature,
            mustBe: "positive for GRPO (greedy completions of a prompt are all alike, so no group has a signal)")
        try ConfigError.require(
            (2...(1 << 16)).contains(numGenerations), "num_generations", numGenerations,
            mustBe: "in 2…\(1 << 16) (a group's rewards are compared with each other)")
        try ConfigError.require(numIterations >= 1, "num_iterations", numIterations, mustBe: "at least 1")
        try ConfigError.require(
            (1...(train.batchSize * numGenerations)).contains(train.gradientAccumulation),
            "train.gradient_accumulation",
            train.gradientAccumulation,
            mustBe: "in 1…batch_size × num_generations (\(train.batchSize * numGenerations))")
        try ConfigError.require(epsilon > 0 && epsilon.isFinite, "epsilon", epsilon, mustBe: "a positive number")
        try ConfigError.require(
            epsilonHigh >= 0 && epsilonHigh.isFinite, "epsilon_high", epsilonHigh,
            mustBe: "0 (epsilon) or a positive number")
        try ConfigError.require(beta >= 0 && beta.isFinite, "beta", beta, mustBe: "0 or a positive number")
        try RewardSet.validate(rewards, options: RewardSet.Options(rewardModel: rewardModel, lengthLimit: lengthLimit))
    }

    /// The per-token loss aggregations TRL names (`loss_type`).
    public enum LossType: String, ConfigChoice {
        case grpo, bnpo, dapo
        case drGRPO = "dr_grpo"
    }
}

extension GRPOConfig: PostTrainingConfiguration {}
extension GRPOAdvantages.Scaling: ConfigChoice {}
