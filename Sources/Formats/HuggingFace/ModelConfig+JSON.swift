import Foundation

extension ModelConfig {
    /// Reads the `config.json` at `url`.
    public init(contentsOf url: URL) throws {
        try self.init(json: JSONValue.read(contentsOf: url), file: url.displayName)
    }

    /// Reads a parsed `config.json`; `file` names it in errors. Accepts both the transformers v4
    /// spelling (`rope_theta`/`rope_scaling`, `torch_dtype`) and the v5 one (`rope_parameters`, `dtype`).
    public init(json: JSONValue, file: String = "config.json") throws {
        let fields = try JSONFields(document: json, file: file)
        guard let typeName = try fields.string("model_type") else {
            throw fields.error("model_type", "is missing (expected one of \(Self.supportedTypes))")
        }
        guard let modelType = ModelType(rawValue: typeName) else {
            throw fields.error(
                "model_type", "is '\(typeName)', which gputrain does not support (supported: \(Self.supportedTypes))")
        }
        var config = ModelConfig.defaults(for: modelType)
        config.architectures =
            try fields.array("architectures").map { values in
                try values.map { value in
                    guard let name = value.stringValue else {
                        throw fields.error("architectures", "should list strings")
                    }
                    return name
                }
            } ?? config.architectures
        // Compared ignoring case: early Llama conversions wrote "LLaMAForCausalLM".
        let supported = Set(ModelType.supportedArchitectures.map { $0.lowercased() })
        if let unsupported = config.architectures.first(where: { !supported.contains($0.lowercased()) }) {
            throw fields.error(
                "architectures",
                "lists '\(unsupported)', which gputrain cannot build (supported: "
                    + ModelType.supportedArchitectures.joined(separator: ", ") + ")")
        }
        config.vocabSize = try fields.positive("vocab_size") ?? config.vocabSize
        config.tieWordEmbeddings = try fields.bool("tie_word_embeddings") ?? config.tieWordEmbeddings
        config.initializerRange = try fields.double("initializer_range") ?? config.initializerRange
        config.dtype = try fields.string("dtype") ?? fields.string("torch_dtype")
        // A key that is present but null means "no such token"; a missing key takes the class default.
        if fields.object.contains("bos_token_id") { config.bosTokenID = try fields.int("bos_token_id") }
        if fields.object.contains("eos_token_id") {
            config.eosTokenIDs = try Self.tokenIDs(fields, "eos_token_id") ?? []
        }
        config.padTokenID = try fields.int("pad_token_id")
        config.labelCount = try fields.object("id2label")?.object.count ?? fields.positive("num_labels")
        if modelType == .gpt2 {
            try config.readGPT2(fields)
        } else {
            try config.readLlama(fields)
        }
        try config.validate(fields)
        self = config
    }

    private static var supportedTypes: String { ModelType.allCases.map(\.rawValue).joined(separator: ", ") }

    /// `eos_token_id` as one id or a list of ids.
    private static func tokenIDs(_ fields: JSONFields, _ key: String) throws -> [Int]? {
        guard let value = fields.value(key) else { return nil }
        if let id = value.intValue { return [id] }
        if let list = value.arrayValue {
            let ids = list.compactMap(\.intValue)
            if ids.count == list.count { return ids }
        }
        throw fields.error(key, "should be a token id or a list of ids, found \(value.kindName)")
    }

    private mutating func readGPT2(_ fields: JSONFields) throws {
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
        attentionDropout = try fields.double("attn_pdrop") ?? attentionDropout
        residualDropout = try fields.double("resid_pdrop") ?? residualDropout
        embeddingDropout = try fields.double("embd_pdrop") ?? embeddingDropout
        scaleAttentionWeights = try fields.bool("scale_attn_weights") ?? scaleAttentionWeights
        scaleAttentionByInverseLayerIndex = try fields.bool("scale_attn_by_inverse_layer_idx") ?? false
    }

    private mutating func readLlama(_ fields: JSONFields) throws {
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

    /// Checks that the sizes fit together and that token ids the file gives are inside the vocabulary
    /// (class defaults such as GPT-2's 50256 are not checked: a small custom vocabulary that leaves
    /// them out is common and harmless).
    func validate(_ fields: JSONFields) throws {
        guard headCount % keyValueHeadCount == 0 else {
            throw fields.error(
                "num_key_value_heads", "(\(keyValueHeadCount)) should divide num_attention_heads (\(headCount)) evenly")
        }
        let given =
            [("bos_token_id", bosTokenID), ("pad_token_id", padTokenID)] + eosTokenIDs.map { ("eos_token_id", $0) }
        for (key, id) in given where fields.contains(key) {
            if let id, !(0..<vocabSize).contains(id) {
                throw fields.error(key, "is \(id), outside the vocabulary (vocab_size \(vocabSize))")
            }
        }
    }

    /// The `config.json` object in transformers v4 spelling (understood by v4 and v5), keys sorted
    /// as `save_pretrained` writes them. Throws if the bias flags cannot be expressed for the type.
    public func json() throws -> JSONValue {
        var object: JSONObject = [
            "architectures": .array(architectures.map { .string($0) }),
            "model_type": .string(modelType.rawValue),
            "vocab_size": .int(vocabSize),
            "initializer_range": .double(initializerRange),
            "tie_word_embeddings": .bool(tieWordEmbeddings),
            "bos_token_id": .int(orNull: bosTokenID),
            "eos_token_id": eosTokenIDs.count == 1
                ? .int(eosTokenIDs[0]) : (eosTokenIDs.isEmpty ? .null : .array(eosTokenIDs.map { .int($0) })),
            "pad_token_id": .int(orNull: padTokenID),
        ]
        if let dtype { object["torch_dtype"] = .string(dtype) }
        if let labelCount {
            // transformers derives num_labels from these two maps.
            object["id2label"] = .object(JSONObject((0..<labelCount).map { ("\($0)", .string("LABEL_\($0)")) }))
            object["label2id"] = .object(JSONObject((0..<labelCount).map { ("LABEL_\($0)", .int($0)) }))
        }
        switch modelType {
        case .gpt2: try writeGPT2(into: &object)
        case .llama, .qwen2, .mistral: try writeLlama(into: &object)
        }
        return .object(object)
    }

    /// The `config.json` text (sorted keys, two-space indent, trailing newline).
    public func jsonData() throws -> Data {
        try json().serializedData(JSONLayout(indent: 2, sortKeys: true, inlineScalarArrays: false))
    }

    /// Writes `config.json` to `url` atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(jsonData(), to: url)
    }

    private func requireBiases(_ expected: (Bool, Bool, Bool), _ description: String) throws {
        guard (queryKeyValueBias, attentionOutputBias, mlpBias) == expected else {
            throw FormatError(
                file: "config.json",
                "cannot write a \(modelType.rawValue) config with biases (q/k/v \(queryKeyValueBias), output \(attentionOutputBias), mlp \(mlpBias)): \(description)"
            )
        }
    }

    private func writeGPT2(into object: inout JSONObject) throws {
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

    private func writeLlama(into object: inout JSONObject) throws {
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
