import Core
import Formats
import Foundation
import Tensors

/// A language-model backbone with a scalar head (`score.weight`, [1, hidden], no bias), as
/// transformers' `*ForSequenceClassification` with `num_labels = 1` lays it out: the reward
/// model, and PPO's value model. The score of a sequence is the head applied to the final
/// hidden state of its last non-pad token.
public final class ScalarHeadModel {
    /// The head's checkpoint key.
    public static let headName = "score.weight"

    /// The transformer under the head (its `logits` are unavailable: there is no LM head).
    public let backbone: LanguageModel
    public var config: ModelConfig { backbone.config }
    public var parameters: ParameterStore { backbone.parameters }

    /// A model over `parameters`, which must hold the backbone of `config` and `score.weight`
    /// (and `adapters`' weights, if given).
    public init(config: ModelConfig, parameters: ParameterStore, adapters: LoRAAdapters? = nil) throws {
        guard parameters[Self.headName] != nil else {
            throw DeviceError.invalidArgument(
                operation: "ScalarHeadModel", message: "parameter store lacks '\(Self.headName)'")
        }
        backbone = try makeLanguageModel(config: config, parameters: parameters, adapters: adapters)
    }

    /// The parameters of a scalar-head model of `config`: backbone, then the head.
    public static func specs(for config: ModelConfig) -> [ParameterSpec] {
        ModelParameters.backboneSpecs(for: config) + [ParameterSpec(headName, shape: [1, config.hiddenSize])]
    }

    /// The head's value at the given rows of `batch` (row = sequence·length + position), one
    /// per entry of `rows`: the hidden states are gathered first, so the head runs on those rows only.
    public func values(_ batch: TokenBatch, atRows rows: [Int32], dropout: DropoutSettings? = nil) throws -> Tensor {
        let hidden = try backbone.hiddenStates(batch, dropout: dropout)
        let indices = try IntTensor(device: parameters.device, shape: [rows.count], values: rows, label: "score rows")
        return try Tensor.linear(
            hidden.gatherRows(indices), weight: parameters.tensor(Self.headName), layout: .outputInput
        )
        .reshaped([rows.count])
    }

    /// A scalar-head model on `device` with `languageModel`'s backbone weights and a fresh head
    /// drawn N(0, initializer_range) from `seed` (transformers' initialisation of `score`).
    public static func initialized(from languageModel: LanguageModel, device: Device, seed: UInt64) throws
        -> ScalarHeadModel
    {
        let config = classifierConfig(languageModel.config)
        let store = try ParameterStore(device: device, specs: specs(for: config), label: "scalar-head model")
        for spec in ModelParameters.backboneSpecs(for: config) {
            try store.load(spec.name, values: languageModel.parameters.values(of: spec.name))
        }
        try store.load(headName, values: freshHead(config: config, seed: seed))
        return try ScalarHeadModel(config: config, parameters: store)
    }

    /// A new head for `config`'s width, drawn N(0, initializer_range) from `seed` (how
    /// transformers initialises `score`).
    static func freshHead(config: ModelConfig, seed: UInt64) -> [Float] {
        var random = SeededGenerator(seed: seed)
        return (0..<config.hiddenSize).map { _ in random.nextNormal() * Float(config.initializerRange) }
    }

    /// `config` as transformers' one-label sequence-classification model.
    static func classifierConfig(_ config: ModelConfig) -> ModelConfig {
        var config = config
        config.architectures = [config.modelType.sequenceClassificationArchitecture]
        config.labelCount = 1
        return config
    }

    /// Whether the model folder `url` (a full model or a PEFT adapter) holds a scalar head.
    public static func hasHead(in url: URL) throws -> Bool {
        PEFTAdapter.isAdapter(url)
            ? try PEFTAdapter(folder: url).savedTensor(headName) != nil
            : try SafetensorsCheckpoint(folder: url).contains(headName)
    }

    /// Throws unless the model folder `url` holds a scalar head, naming `field` (where the
    /// folder came from: "--model", "'reward_model'") so a language model given as a reward
    /// model is a clear error rather than a missing tensor deep in loading.
    public static func requireHead(in url: URL, field: String) throws {
        guard try hasHead(in: url) else {
            throw FormatError(
                file: url.path,
                "not a reward model: \(field) has no \(headName) (it looks like a language model; "
                    + "train a reward model from it with `gputrain reward` and give its final/ folder)")
        }
    }

    /// Loads a scalar-head model folder (`config.json` + safetensors with `score.weight`, or a
    /// PEFT adapter that saved `score`). With `headSeed`, the folder may be a language model
    /// instead: the head is then fresh, drawn N(0, initializer_range) from the seed (as
    /// transformers initialises `score`). With `lora`, the backbone is frozen under fresh
    /// adapters and the head is trained in full (PEFT's `modules_to_save`).
    public static func load(
        _ folder: URL, device: Device, trainable: Bool = true, lora: LoRASettings = LoRASettings(),
        headSeed: UInt64? = nil
    ) throws -> ScalarHeadModel {
        let fresh =
            headSeed.map { seed in [headName: { (config: ModelConfig) in freshHead(config: config, seed: seed) }] }
            ?? [:]
        let loaded = try ModelFolder.loadParameters(
            folder, device: device, trainable: trainable, lora: lora,
            fullyTrained: [headName], fresh: fresh
        ) { specs(for: $0) }
        guard loaded.config.labelCount ?? 1 == 1 else {
            throw FormatError(
                file: folder.path,
                "config.json has \(loaded.config.labelCount!) labels; a reward model has one (num_labels: 1)")
        }
        return try ScalarHeadModel(
            config: classifierConfig(loaded.config), parameters: loaded.store, adapters: loaded.adapters)
    }

    /// Saves the model in transformers' sequence-classification layout.
    public func save(to folder: URL) throws {
        try ModelFolder.save(parameters, specs: Self.specs(for: config), config: config, to: folder)
    }
}
