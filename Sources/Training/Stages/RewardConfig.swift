import Datasets
import Formats

/// The reward-model recipe (`gputrain reward --config …`, the `reward:` section of a pipeline
/// config): a scalar head on the `model.init_from` backbone trained on preference pairs with
/// the Bradley–Terry loss (TRL's `RewardTrainer`).
public struct RewardConfig: Configuration, Equatable {
    public var run = RunSettings()
    public var model = InitSettings()
    public var data = ChatDataSettings()
    public var train = LoopSettings()
    public var optim = OptimizerSettings()
    /// LoRA (rank > 0): train adapters on frozen weights instead of every weight.
    public var lora = LoRASettings()
    /// c in + c·mean((r_c + r_r)²), which keeps the rewards centred on zero (TRL
    /// `center_rewards_coefficient`; 0 turns it off, 0.01 is TRL's suggestion).
    public var centerRewardsCoefficient = 0.0
    /// The device (`gputrain devices`); empty picks the default.
    public var device = ""
    /// The kernel variants (`auto`, `cpu`, `gpu`); empty leaves it to `GPUTRAIN_KERNELS`, else `auto`.
    public var kernels = ""

    public init() {
        data.path = "runs/tiny-world-data/world/preferences.jsonl"
        data.heldoutFraction = 0.2
        optim.learningRate = 1e-4
        optim.warmupSteps = 10
        optim.weightDecay = 0
    }

    /// Throws unless the reward-specific settings make sense.
    public func validate() throws {
        try validatePostTraining()
        try ConfigError.require(
            centerRewardsCoefficient >= 0 && centerRewardsCoefficient.isFinite, "center_rewards_coefficient",
            centerRewardsCoefficient, mustBe: "0 (off) or a positive number")
    }
}

extension RewardConfig: PostTrainingConfiguration {}
