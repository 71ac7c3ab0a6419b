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
        try modelType.dialect.read(fields, into: &config)
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

    /// Throws unless `activation` (read from `key`) is one the family computes: another would
    /// silently be computed as the family's own.
    func requireActivation(_ fields: JSONFields, key: String, oneOf supported: [String]) throws {
        guard supported.contains(activation) else {
            throw fields.error(
                key,
                "is '\(ConfigError.shortened(activation))'; gputrain computes only \(supported.joined(separator: " and ")) here"
            )
        }
    }

    /// Checks that the sizes fit together and that token ids the file gives are inside the vocabulary
    /// (class defaults such as GPT-2's 50256 are not checked: a small custom vocabulary that leaves
    /// them out is common and harmless).
    func validate(_ fields: JSONFields) throws {
        // Far above any released model, and small enough that parameter counts cannot overflow.
        // Each size under the keys either family spells it with.
        let sizes: [(keys: [String], value: Int, limit: Int)] = [
            (["hidden_size", "n_embd"], hiddenSize, 1 << 20),
            (["intermediate_size", "n_inner"], intermediateSize, 1 << 20),
            (["vocab_size"], vocabSize, 1 << 20),
            (["max_position_embeddings", "n_positions", "n_ctx"], maxPositions, 1 << 20),
            (["head_dim"], headDimension, 1 << 16), (["num_hidden_layers", "n_layer"], layerCount, 1 << 12),
            (["num_attention_heads", "n_head"], headCount, 1 << 12),
        ]
        for size in sizes where size.value > size.limit {
            let key = size.keys.first(where: fields.contains) ?? size.keys[0]
            throw fields.error(key, "is \(size.value); gputrain takes at most \(size.limit)")
        }
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
        try modelType.dialect.write(self, into: &object)
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

    func requireBiases(_ expected: (Bool, Bool, Bool), _ description: String) throws {
        guard (queryKeyValueBias, attentionOutputBias, mlpBias) == expected else {
            throw FormatError(
                file: "config.json",
                "cannot write a \(modelType.rawValue) config with biases (q/k/v \(queryKeyValueBias), output \(attentionOutputBias), mlp \(mlpBias)): \(description)"
            )
        }
    }
}
