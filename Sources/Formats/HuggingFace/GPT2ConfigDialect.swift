/// GPT-2's `config.json` (transformers' `GPT2Config`): `n_embd`, `n_layer`, `n_head`, `n_inner`
/// (4·d when absent), `n_positions`, LayerNorm epsilon, the three dropouts, attention scaling;
/// every bias present (docs/formats.md §3.1).
struct GPT2ConfigDialect: ConfigDialect {
    let modelTypes: [ModelType] = [.gpt2]

    func causalLMArchitecture(of type: ModelType) -> String { "GPT2LMHeadModel" }

    func sequenceClassificationArchitecture(of type: ModelType) -> String { "GPT2ForSequenceClassification" }

    func defaults(for type: ModelType) -> ModelConfig {
        return ModelConfig(
            modelType: .gpt2, architectures: [causalLMArchitecture(of: .gpt2)], vocabSize: 50257, hiddenSize: 768,
            layerCount: 12, headCount: 12, keyValueHeadCount: 12, headDimension: 64, intermediateSize: 3072,
            maxPositions: 1024, normEpsilon: 1e-5, activation: "gelu_new", ropeTheta: 10000, tieWordEmbeddings: true,
            bias: (true, true, true), bosTokenID: 50256, eosTokenIDs: [50256], dropout: (0.1, 0.1, 0.1),
            slidingWindow: nil)
    }

    func intermediateSize(default config: ModelConfig, hiddenSize: Int) -> Int { 4 * hiddenSize }

    func read(_ fields: JSONFields, into config: inout ModelConfig) throws { try config.readGPT2(fields) }

    func write(_ config: ModelConfig, into object: inout JSONObject) throws { try config.writeGPT2(into: &object) }
}

extension ModelConfig {
    fileprivate mutating func readGPT2(_ fields: JSONFields) throws {
        hiddenSize = try fields.positive("n_embd") ?? hiddenSize
        layerCount = try fields.positive("n_layer") ?? layerCount
        headCount = try fields.positive("n_head") ?? headCount
        keyValueHeadCount = headCount
        guard hiddenSize % headCount == 0 else {
            throw fields.error("n_embd", "(\(hiddenSize)) should be divisible by n_head (\(headCount))")
        }
        headDimension = hiddenSize / headCount
        intermediateSize = try fields.positive("n_inner") ?? 4 * hiddenSize
        maxPositions = try fields.positive("n_positions") ?? fields.positive("n_ctx") ?? maxPositions
        normEpsilon = try fields.double("layer_norm_epsilon") ?? normEpsilon
        activation = try fields.string("activation_function") ?? activation
        // GPT-2 layers compute the tanh approximation of GELU.
        try requireActivation(fields, key: "activation_function", oneOf: ["gelu_new", "gelu_pytorch_tanh"])
        attentionDropout = try fields.double("attn_pdrop") ?? attentionDropout
        residualDropout = try fields.double("resid_pdrop") ?? residualDropout
        embeddingDropout = try fields.double("embd_pdrop") ?? embeddingDropout
        scaleAttentionWeights = try fields.bool("scale_attn_weights") ?? scaleAttentionWeights
        scaleAttentionByInverseLayerIndex = try fields.bool("scale_attn_by_inverse_layer_idx") ?? false
    }

    fileprivate func writeGPT2(into object: inout JSONObject) throws {
        try requireBiases((true, true, true), "GPT-2 always has all biases")
        guard keyValueHeadCount == headCount, headDimension * headCount == hiddenSize else {
            throw FormatError(
                file: "config.json",
                "cannot write a gpt2 config with \(keyValueHeadCount) kv heads or head_dim \(headDimension): GPT-2 has n_head heads of width n_embd / n_head"
            )
        }
        object["n_embd"] = .int(hiddenSize)
        object["n_layer"] = .int(layerCount)
        object["n_head"] = .int(headCount)
        object["n_inner"] = intermediateSize == 4 * hiddenSize ? .null : .int(intermediateSize)
        object["n_positions"] = .int(maxPositions)
        object["layer_norm_epsilon"] = .double(normEpsilon)
        object["activation_function"] = .string(activation)
        object["attn_pdrop"] = .double(attentionDropout)
        object["resid_pdrop"] = .double(residualDropout)
        object["embd_pdrop"] = .double(embeddingDropout)
        object["scale_attn_weights"] = .bool(scaleAttentionWeights)
        object["scale_attn_by_inverse_layer_idx"] = .bool(scaleAttentionByInverseLayerIndex)
        object["reorder_and_upcast_attn"] = .bool(false)
    }
}
