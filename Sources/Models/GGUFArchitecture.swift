import Formats

/// How a model of one `ModelConfig` maps onto a llama.cpp architecture (docs/formats.md §5.4, §5.6):
/// the architecture name, its hyperparameter metadata and its tensors. Each family makes its own
/// (`ModelFamily.ggufArchitecture`); what every architecture shares is here.
public struct GGUFArchitecture {
    /// llama.cpp's name for the architecture (`general.architecture`, and the prefix of its keys).
    let name: String
    let config: ModelConfig
    /// The family's `{name}.*` keys, after those every architecture has.
    let familyHyperparameters: GGUFMetadata
    /// The tensors from the embeddings to the output norm (and generated ones), in checkpoint order.
    let backboneTensors: [GGUFTensorPlan]
    /// Differences llama.cpp will make, for the user (none is an error in the exported file).
    let warnings: [String]

    init(
        name: String, config: ModelConfig, hyperparameters: GGUFMetadata, tensors: [GGUFTensorPlan],
        warnings: [String] = []
    ) {
        self.name = name
        self.config = config
        familyHyperparameters = hyperparameters
        backboneTensors = tensors
        self.warnings = warnings
    }

    /// The `{name}.*` keys with the value types llama.cpp reads (u32 counts, f32 epsilons and
    /// frequency base).
    var hyperparameters: GGUFMetadata {
        var metadata = GGUFMetadata()
        for (key, value) in [
            ("context_length", config.maxPositions), ("embedding_length", config.hiddenSize),
            ("block_count", config.layerCount), ("feed_forward_length", config.intermediateSize),
            ("attention.head_count", config.headCount),
        ] {
            metadata["\(name).\(key)"] = .uint32(UInt32(value))
        }
        metadata.merge(familyHyperparameters)
        return metadata
    }

    /// Every tensor, in checkpoint order; no `output.weight` when the head is tied (llama.cpp then
    /// reuses `token_embd`).
    var tensors: [GGUFTensorPlan] {
        guard !config.tieWordEmbeddings else { return backboneTensors }
        let head = ParameterDeclaration(
            ModelParameters.headName, shape: [config.vocabSize, config.hiddenSize], role: .head)
        return backboneTensors + [GGUFTensorPlan("output.weight", from: head)]
    }
}
