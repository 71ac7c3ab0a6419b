import Datasets
import Formats

/// The supervised fine-tuning recipe (`gputrain sft --config …`, the `sft:` section of a
/// pipeline config).
public struct SFTConfig: Configuration, Equatable {
    public var run = RunSettings()
    public var model = InitSettings()
    public var data = ChatDataSettings()
    public var train = LoopSettings()
    public var optim = OptimizerSettings()
    /// LoRA (rank > 0): train adapters on frozen weights instead of every weight.
    public var lora = LoRASettings()
    /// The assistant turns and their end-of-turn tokens, or every token.
    public var lossOn = ChatLossScope.assistantOnly
    /// The device (`gputrain devices`); empty picks the default.
    public var device = ""
    /// The kernel variants (`auto`, `cpu`, `gpu`); empty leaves it to `GPUTRAIN_KERNELS`, else `auto`.
    public var kernels = ""

    public init() {
        data.path = "runs/tiny-world-data/world/sft.jsonl"
        optim.learningRate = 3e-4
        optim.warmupSteps = 10
        optim.weightDecay = 0
    }
}
extension SFTConfig: PostTrainingConfiguration {
    public func validate() throws { try validatePostTraining() }
}
extension ChatLossScope: ConfigChoice {}
