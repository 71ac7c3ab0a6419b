import Core
import Datasets
import Formats
import Foundation
import Training

/// The whole story in one recipe (`gputrain pipeline --config configs/tiny-world.yaml`): the
/// tiny world's size, then one section per stage holding that stage's own recipe. The pipeline
/// fills in what links the stages (each stage's `model.init_from`, data files, PPO's reward
/// model and `ptx_data`, and run directory), so those keys are ignored in the stage sections.
/// A section may start from a stage's own recipe (`sft: {recipe: tiny-world-sft}`).
public struct PipelineConfig: StageConfiguration, Equatable {
    /// The built-in data the pipeline makes in `<run>/data`.
    public struct Data: Codable, Equatable, Sendable {
        /// Size preset of the tiny world.
        public var size = TinyWorldSizeName.standard
        /// Vocabulary of the BPE tokenizer trained on it.
        public var vocabSize = 1024
        /// Seed of the world (and of every stage that does not set its own).
        public var seed = 1234
    }

    /// Where the reward model's and DPO's preference pairs come from (`preferences:`).
    public struct Preferences: Codable, Equatable, Sendable {
        /// `generated`: the tiny world's generated pairs; `labeled`: the pairs of `file` (from
        /// `gputrain label`, or any TRL preference data); `ai`: pairs the SFT model samples and
        /// a feedback model labels by `constitution` (`gputrain ai-label`).
        public enum Source: String, ConfigChoice {
            case generated, labeled, ai
        }

        public var source = Source.generated
        /// The preference file of `labeled`.
        public var file = ""
        /// The constitution of `ai`.
        public var constitution = ""
        /// The feedback model of `ai`: a chat model folder, or `judge` for the tiny world's judge.
        public var feedbackModel = ""

        /// Throws unless the files `source` needs are given and exist.
        func validate() throws {
            func exists(_ path: String) -> Bool { !path.isEmpty && FileManager.default.fileExists(atPath: path) }
            switch source {
            case .generated: break
            case .labeled:
                try ConfigError.require(
                    exists(file), "preferences.file", file, mustBe: "an existing preference file for source labeled")
            case .ai:
                try ConfigError.require(
                    exists(constitution), "preferences.constitution", constitution,
                    mustBe: "an existing constitution.yaml for source ai")
                try ConfigError.require(
                    feedbackModel == "judge" || exists(feedbackModel), "preferences.feedback_model", feedbackModel,
                    mustBe: "an existing chat model folder, or judge (the tiny world's judge), for source ai")
            }
        }
    }

    /// The final comparison of the models on the held-out questions.
    public struct Eval: Codable, Equatable, Sendable {
        /// New tokens per answer at most.
        public var maxNewTokens = 32
        /// Prompts generated together.
        public var batchSize = 16
        /// Seed of the sampled answers `kl_to_sft` is measured on.
        public var seed = 7
    }

    public var run = RunSettings()
    public var device = ""
    /// The kernel variants (`auto`, `cpu`, `gpu`); empty leaves it to `GPUTRAIN_KERNELS`, else `auto`.
    public var kernels = ""
    public var data = Data()
    /// The stages after pretraining to run, in order (pretrain and eval always run).
    public var stages: [Stage] = [.sft, .reward, .dpo, .ppo]
    public var pretrain = PretrainConfig()
    public var sft = SFTConfig()
    public var reward = RewardConfig()
    public var dpo = DPOConfig()
    public var ppo = PPOConfig()
    public var grpo = GRPOConfig()
    public var preferences = Preferences()
    public var eval = Eval()

    public init() {
        run.name = "tiny-world"
    }
}

extension PipelineConfig {
    /// Validates the pretraining recipe and the recipe of every stage in `stages`; an error
    /// names the section it comes from.
    public func validate() throws {
        func check(_ section: String, _ recipe: Configuration) throws {
            do {
                try recipe.validate()
            } catch var error as ConfigError {
                error.message = "in section '\(section)': " + error.message
                error.key = error.key.map { "\(section).\($0)" }
                throw error
            }
        }
        try KernelVariant.requireRecipeValue(kernels)
        try preferences.validate()
        try check("pretrain", pretrain)
        for stage in stages {
            switch stage {
            case .sft: try check("sft", sft)
            case .reward: try check("reward", reward)
            case .dpo: try check("dpo", dpo)
            case .ppo: try check("ppo", ppo(sftChats: "sft.jsonl"))
            case .grpo: try check("grpo", grpo)
            }
        }
        if stages.contains(.ppo), !stages.contains(.reward) {
            throw ConfigError(
                source: "config", line: nil,
                message: "'stages' lists ppo without reward; PPO trains against the reward model")
        }
    }

    /// The PPO recipe as the pipeline runs it: with `ptx_coef` set, its `ptx_data` is the
    /// world's SFT chats, `sftChats`.
    func ppo(sftChats: String) -> PPOConfig {
        var recipe = ppo
        if recipe.ptxCoef > 0 { recipe.ptxData = sftChats }
        return recipe
    }

    /// The post-training stages a pipeline can run (`stages`).
    public enum Stage: String, ConfigChoice {
        case sft, reward, dpo, ppo, grpo
    }
}
