import Datasets
import Formats
import Foundation

/// The PPO recipe (`gputrain ppo --config …`, the `ppo:` section of a pipeline config): TRL's
/// `PPOConfig` names and defaults (docs/formats.md §6.7) where the tiny world does not need others.
///
/// One training step is one PPO iteration: `train.batch_size` prompts are rolled out, then
/// `ppo_epochs` passes over them in mini-batches of `mini_batch_size` update the policy and the
/// value model.
public struct PPOConfig: Configuration, Equatable {
    public var run = RunSettings()
    /// The policy to train (an SFT model); the frozen reference is the same folder.
    public var model = InitSettings()
    /// The reward model folder (`gputrain reward`'s `final/`): a scalar-head model with the
    /// policy's tokenizer. The value model starts as a trainable copy of it.
    public var rewardModel = ""
    /// The prompts (`{"prompt": …}` lines) and their length limits.
    public var data = ChatDataSettings()
    /// How responses are sampled.
    public var rollout = RolloutSettings()
    public var train = LoopSettings()
    public var optim = OptimizerSettings()
    /// LoRA (rank > 0): train adapters on frozen weights instead of every weight.
    public var lora = LoRASettings()
    /// Passes over each rollout (TRL `num_ppo_epochs`).
    public var ppoEpochs = 4
    /// Rollout rows per policy/value update; 0 takes the whole rollout (TRL `num_mini_batches` 1).
    public var miniBatchSize = 0
    /// Weight of the per-token KL penalty in the rewards (TRL `kl_coef`).
    public var klCoef = 0.05
    /// TRL's `kl_estimator`.
    public var klEstimator = KLEstimator.k1
    /// Discount γ.
    public var gamma = 1.0
    /// GAE λ (TRL `lam`).
    public var lam = 0.95
    /// Policy ratio clip ε (TRL `cliprange`).
    public var cliprange = 0.2
    /// Value clip ε_v (TRL `cliprange_value`).
    public var cliprangeValue = 0.2
    /// Weight of the value loss (TRL `vf_coef`).
    public var vfCoef = 0.1
    /// Subtracted from the score of a response that did not end its turn; 0 for none
    /// (TRL `missing_eos_penalty`).
    public var missingEosPenalty = 0.0
    /// Weight of the language-model loss on `ptx_data` added to every policy update (InstructGPT's
    /// PPO-ptx, OpenRLHF's `ptx_coef`); 0 for none. It holds the policy to what it learned before
    /// where the reward model cannot judge, as DPO's `rpo_alpha` does.
    public var ptxCoef = 0.0
    /// Chats for that loss (SFT's format: `{"messages": …}` or `{"prompt", "completion"}` lines),
    /// trained on their assistant tokens; the pipeline gives the world's `sft.jsonl`.
    public var ptxData = ""
    /// Save the trained value model as `value/` in the run folder at the end (it is in the
    /// checkpoints either way).
    public var saveValueModel = true
    /// The device (`gputrain devices`); empty picks the default.
    public var device = ""
    /// The kernel variants (`auto`, `cpu`, `gpu`); empty leaves it to `GPUTRAIN_KERNELS`, else `auto`.
    public var kernels = ""

    public init() {
        data.path = "runs/tiny-world-data/world/rl_prompts.jsonl"
        data.maxLength = 128
        rollout.temperature = 0.7
        rollout.maxNewTokens = 53
        optim.learningRate = 3e-6
        optim.schedule = .linear
        optim.warmupSteps = 0
        optim.weightDecay = 0
        train.evalEvery = 10
        train.checkpointEvery = 10
    }

    /// Rollout rows per update.
    public var rowsPerUpdate: Int { miniBatchSize > 0 ? min(miniBatchSize, train.batchSize) : train.batchSize }

    /// Throws unless the settings are usable, naming the field and what to give.
    public func validate() throws {
        try validatePostTraining()
        try rollout.validate()
        try ConfigError.require(
            train.gradientAccumulation == 1, "train.gradient_accumulation", train.gradientAccumulation,
            mustBe: "1 for PPO (choose the rows per update with mini_batch_size)")
        try ConfigError.require(ppoEpochs >= 1, "ppo_epochs", ppoEpochs, mustBe: "at least 1")
        try ConfigError.require(
            miniBatchSize >= 0, "mini_batch_size", miniBatchSize, mustBe: "0 (the whole rollout) or positive")
        for (key, value) in [("cliprange", cliprange), ("cliprange_value", cliprangeValue)] {
            try ConfigError.require(value > 0 && value.isFinite, key, value, mustBe: "a positive number")
        }
        for (key, value) in [("gamma", gamma), ("lam", lam)] {
            try ConfigError.require((0...1).contains(value), key, value, mustBe: "in [0, 1]")
        }
        for (key, value) in [
            ("kl_coef", klCoef), ("vf_coef", vfCoef), ("missing_eos_penalty", missingEosPenalty), ("ptx_coef", ptxCoef),
        ] {
            try ConfigError.require(value >= 0 && value.isFinite, key, value, mustBe: "0 or a positive number")
        }
        try ConfigError.require(
            ptxCoef == 0 || !ptxData.isEmpty, "ptx_data", "''",
            mustBe: "the chats to train on (an SFT JSONL file) when ptx_coef is \(ptxCoef), or set ptx_coef to 0")
    }

    /// The reward model folder; an empty setting is an error saying what to give.
    func rewardModelFolder() throws -> URL {
        guard !rewardModel.isEmpty else {
            throw ConfigError(
                source: "config", line: nil,
                message: "'reward_model' is empty; PPO scores its responses with a reward model "
                    + "folder (`gputrain reward`'s final/): set it in the config or with --set reward_model=DIR")
        }
        return URL(fileURLWithPath: rewardModel)
    }
}

extension PPOConfig: PostTrainingConfiguration {}
extension KLEstimator: ConfigChoice {}
