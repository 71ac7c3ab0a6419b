/// The `config.json` of Llama and its variants (transformers' `LlamaConfig`, `Qwen2Config`,
/// `MistralConfig`): `hidden_size`, `num_hidden_layers`, `num_attention_heads`,
/// `num_key_value_heads`, `head_dim`, RMSNorm epsilon, RoPE; Llama's `attention_bias` and
/// `mlp_bias`, Qwen2's fixed q/k/v biases, Mistral's `sliding_window` (docs/formats.md §3.2–3.3).
struct LlamaConfigDialect: ConfigDialect {
    let modelTypes: [ModelType] = [.llama, .qwen2, .mistral]

    func causalLMArchitecture(of type: ModelType) -> String { "\(classPrefix(type))ForCausalLM" }

    func sequenceClassificationArchitecture(of type: ModelType) -> String {
        "\(classPrefix(type))ForSequenceClassification"
    }

    private func classPrefix(_ type: ModelType) -> String {
        switch type {
        case .qwen2: return "Qwen2"
        case .mistral: return "Mistral"
        default: return "Llama"
        }
    }

    func defaults(for type: ModelType) -> ModelConfig {
        switch type {
        case .qwen2:
            return ModelConfig(
                modelType: .qwen2, architectures: [causalLMArchitecture(of: .qwen2)], vocabSize: 151_936,
                hiddenSize: 4096, layerCount: 32, headCount: 32, keyValueHeadCount: 32, headDimension: 128,
                intermediateSize: 22016, maxPositions: 32768, normEpsilon: 1e-6, activation: "silu", ropeTheta: 10000,
                tieWordEmbeddings: false, bias: (true, false, false), bosTokenID: nil, eosTokenIDs: [],
                dropout: (0, 0, 0), slidingWindow: nil)
        case .mistral:
            return ModelConfig(
                modelType: .mistral, architectures: [causalLMArchitecture(of: .mistral)], vocabSize: 32000,
                hiddenSize: 4096, layerCount: 32, headCount: 32, keyValueHeadCount: 8, headDimension: 128,
                intermediateSize: 14336, maxPositions: 131_072, normEpsilon: 1e-6, activation: "silu", ropeTheta: 10000,
                tieWordEmbeddings: false, bias: (false, false, false), bosTokenID: 1, eosTokenIDs: [2],
                dropout: (0, 0, 0), slidingWindow: 4096)
        default:
            return ModelConfig(
                modelType: .llama, architectures: [causalLMArchitecture(of: .llama)], vocabSize: 32000,
                hiddenSize: 4096, layerCount: 32, headCount: 32, keyValueHeadCount: 32, headDimension: 128,
                intermediateSize: 11008, maxPositions: 2048, normEpsilon: 1e-6, activation: "silu", ropeTheta: 10000,
                tieWordEmbeddings: false, bias: (false, false, false), bosTokenID: 1, eosTokenIDs: [2],
                dropout: (0, 0, 0), slidingWindow: nil)
        }
    }

    func intermediateSize(default config: ModelConfig, hiddenSize: Int) -> Int { config.intermediateSize }

    func read(_ fields: JSONFields, into config: inout ModelConfig) throws { try config.readLlama(fields) }

    func write(_ config: ModelConfig, into object: inout JSONObject) throws { try config.writeLlama(into: &object) }
}

extension ModelConfig {
    fileprivate mutating func readLlama(_ fields: JSONFields) throws {
        hiddenSize = try fields.positive("hidden_size") ?? hiddenSize
        layerCount = try fields.positive("num_hidden_layers") ?? layerCount
        headCount = try fields.positive("num_attention_heads") ?? headCount
        // Llama and Qwen2 default the kv heads to the query heads; Mistral's class default is 8.
        keyValueHeadCount =
            try fields.positive("num_key_value_heads") ?? (modelType == .mistral ? keyValueHeadCount : headCount)
        if let headDimension = try fields.positive("head_dim") {
            self.headDimension = headDimension
        } else {
            guard hiddenSize % headCount == 0 else {
                throw fields.error(
                    "hidden_size",
                    "(\(hiddenSize)) should be divisible by num_attention_heads (\(headCount)) when head_dim is not given"
                )
            }
            headDimension = hiddenSize / headCount
        }
        intermediateSize = try fields.positive("intermediate_size") ?? intermediateSize
        maxPositions = try fields.positive("max_position_embeddings") ?? maxPositions
        normEpsilon = try fields.double("rms_norm_eps") ?? normEpsilon
        activation = try fields.string("hidden_act") ?? activation
        // Llama-family MLPs compute SiLU.
        try requireActivation(fields, key: "hidden_act", oneOf: ["silu", "swish"])
        attentionDropout = try fields.double("attention_dropout") ?? attentionDropout
        (ropeTheta, ropeScaling) = try RopeScaling.read(from: fields, defaultTheta: ropeTheta)
        switch modelType {
        case .llama:
            let attentionBias = try fields.bool("attention_bias") ?? false
            queryKeyValueBias = attentionBias
            attentionOutputBias = attentionBias
            mlpBias = try fields.bool("mlp_bias") ?? false
        case .mistral:
            // MistralAttention and MistralMLP have no biases whatever the file says.
            if fields.object.contains("sliding_window") { slidingWindow = try fields.positive("sliding_window") }
        case .qwen2:
            // Qwen2 applies the window only to layers from max_window_layers on; no released
            // Qwen2/2.5 checkpoint turns it on, so refuse rather than silently mis-model it.
            if try fields.bool("use_sliding_window") == true {
                throw fields.error(
                    "use_sliding_window", "is true; gputrain does not support Qwen2 sliding-window layers")
            }
        case .gpt2:
            break
        }
    }

    fileprivate func writeLlama(into object: inout JSONObject) throws {
        object["hidden_size"] = .int(hiddenSize)
        object["num_hidden_layers"] = .int(layerCount)
        object["num_attention_heads"] = .int(headCount)
        object["num_key_value_heads"] = .int(keyValueHeadCount)
        object["head_dim"] = .int(headDimension)
        object["intermediate_size"] = .int(intermediateSize)
        object["max_position_embeddings"] = .int(maxPositions)
        object["rms_norm_eps"] = .double(normEpsilon)
        object["hidden_act"] = .string(activation)
        object["attention_dropout"] = .double(attentionDropout)
        object["rope_theta"] = .double(ropeTheta)
        object["rope_scaling"] = ropeScaling?.json ?? .null
        switch modelType {
        case .qwen2:
            try requireBiases((true, false, false), "Qwen2 has q/k/v biases only")
            guard slidingWindow == nil else {
                throw FormatError(file: "config.json", "cannot write a qwen2 config with a sliding window")
            }
            object["use_sliding_window"] = .bool(false)
        case .mistral:
            try requireBiases((false, false, false), "Mistral has no biases")
            object["sliding_window"] = .int(orNull: slidingWindow)
        default:
            try requireBiases(
                (queryKeyValueBias, queryKeyValueBias, mlpBias), "attention_bias covers q/k/v and output together")
            guard slidingWindow == nil else {
                throw FormatError(file: "config.json", "cannot write a llama config with a sliding window")
            }
            object["attention_bias"] = .bool(queryKeyValueBias)
            object["mlp_bias"] = .bool(mlpBias)
        }
    }
}
