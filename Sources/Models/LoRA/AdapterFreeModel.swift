import Core
import Formats
import Tensors

/// The base model under a LoRA-adapted model: the same parameter store with the adapters off.
/// DPO, PPO and GRPO use it as their frozen reference, so LoRA runs hold one copy of the weights.
public final class AdapterFreeModel: LanguageModel {
    /// The adapted model whose base this is.
    public let adapted: LanguageModel
    private let switchable: LoRAAdapters

    /// The base of `adapted`, which must have adapters.
    public init(_ adapted: LanguageModel) throws {
        guard let adapters = adapted.adapters else {
            throw DeviceError.invalidArgument(
                operation: "AdapterFreeModel", message: "the model has no LoRA adapters to turn off")
        }
        self.adapted = adapted
        switchable = adapters
    }

    public var config: ModelConfig { adapted.config }
    public var parameters: ParameterStore { adapted.parameters }
    public var adapters: LoRAAdapters? { nil }

    public func hiddenStates(_ batch: TokenBatch, dropout: DropoutSettings?, cache: KeyValueCache?) throws -> Tensor {
        try switchable.disabled { try adapted.hiddenStates(batch, dropout: dropout, cache: cache) }
    }

    public func logits(fromHidden hidden: Tensor) throws -> Tensor {
        try adapted.logits(fromHidden: hidden)
    }
}
