import Core
import Formats
import Tensors

/// The parameters of a model of any family, as `ParameterStore`s, LoRA and checkpoints use them
/// (docs/formats.md §3): the names are the checkpoint keys, so real checkpoints load without
/// renaming. Each family declares its own (`ModelFamily.backbone`); the untied LM head is shared.
public enum ModelParameters {
    /// The checkpoint key of an untied LM head (every family's `*ForCausalLM` names it so).
    public static let headName = "lm_head.weight"

    /// Every parameter of `config`'s causal LM, in checkpoint order: the backbone, then the
    /// head unless it is tied to the embedding.
    public static func declarations(for config: ModelConfig) -> [ParameterDeclaration] {
        config.family.backbone(config)
            + (config.tieWordEmbeddings
                ? [] : [ParameterDeclaration(headName, shape: [config.vocabSize, config.hiddenSize], role: .head)])
    }

    /// Every parameter of `config`'s causal LM, in checkpoint order: the backbone, then
    /// `lm_head.weight` unless the head is tied to the embedding.
    public static func specs(for config: ModelConfig) -> [ParameterSpec] {
        declarations(for: config).map(\.spec)
    }

    /// The parameters up to the final norm (what a sequence-classification model shares with
    /// the causal LM), in checkpoint order.
    public static func backboneSpecs(for config: ModelConfig) -> [ParameterSpec] {
        config.family.backbone(config).map(\.spec)
    }

    /// What a run holds of a model with parameters `specs`: without `adapters`, every parameter,
    /// trained when `trainable`; with LoRA `adapters`, the base frozen except the `fullyTrained`
    /// ones (a reward model's head), and the adapters' parameters, trained when `trainable`.
    public static func specs(
        _ specs: [ParameterSpec], trainable: Bool, adapters: LoRAAdapters?, fullyTrained: Set<String> = []
    )
        -> (base: [ParameterSpec], adapters: [ParameterSpec])
    {
        let base = specs.map { $0.with(trainable: trainable && (adapters == nil || fullyTrained.contains($0.name))) }
        return (base, (adapters?.specs ?? []).map { $0.with(trainable: trainable) })
    }

    /// Throws unless `store` holds every backbone parameter of `config`'s model (named in the
    /// error). An untied `lm_head.weight` is looked up when logits are asked for, so a reward
    /// model, which has `score.weight` instead, builds on the same backbone.
    static func requireComplete(_ store: ParameterStore, for config: ModelConfig, model: String) throws {
        for parameter in config.family.backbone(config) where store[parameter.name] == nil {
            throw DeviceError.invalidArgument(operation: model, message: "parameter store lacks '\(parameter.name)'")
        }
    }
}

/// One projection of a transformer block (what LoRA can adapt), in `nn.Linear` terms.
public struct LinearModule: Sendable, Equatable {
    /// The module path, e.g. "model.layers.0.self_attn.q_proj" (its weight is `path + ".weight"`).
    public var path: String
    public var inputs: Int
    public var outputs: Int
    /// How the weight is stored: [out, in] (`nn.Linear`) or [in, out] (GPT-2's `Conv1D`).
    public var layout: WeightLayout
}

extension ModelParameters {
    /// Every projection inside the transformer blocks of `config`'s model, in checkpoint order:
    /// the parameters declared as projections (embeddings and the output head are not among them).
    public static func linearModules(for config: ModelConfig) -> [LinearModule] {
        config.family.backbone(config).compactMap { parameter in
            guard case .projection(let layout, _) = parameter.role else { return nil }
            let (inputs, outputs) =
                layout == .inputOutput
                ? (parameter.shape[0], parameter.shape[1]) : (parameter.shape[1], parameter.shape[0])
            return LinearModule(
                path: String(parameter.name.dropLast(".weight".count)), inputs: inputs, outputs: outputs, layout: layout
            )
        }
    }
}
