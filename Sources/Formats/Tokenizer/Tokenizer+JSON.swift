import Foundation

extension Tokenizer {
    /// The components whose JSON is kept verbatim and written back, in HF's key order.
    static let componentKeys = [
        "version", "truncation", "padding", "normalizer", "pre_tokenizer", "post_processor", "decoder",
    ]

    /// Reads the `tokenizer.json` at `url`.
    public convenience init(contentsOf url: URL) throws {
        try self.init(json: JSONValue.read(contentsOf: url), file: url.displayName)
    }

    /// Reads a parsed `tokenizer.json`; `file` names it in errors. Only the `BPE` model is
    /// supported; other model types and unsupported components are errors that name them.
    public convenience init(json: JSONValue, file: String = "tokenizer.json") throws {
        let fields = try JSONFields(document: json, file: file)
        let modelFields = try fields.required("model", fields.object)
        let type = try modelFields.string("type") ?? (modelFields.contains("merges") ? "BPE" : "unknown")
        guard type == "BPE" else {
            throw modelFields.error(
                "type", "is '\(type)'; gputrain supports only BPE tokenizers (not WordPiece, Unigram or WordLevel)")
        }
        let model = try Self.readModel(modelFields, file: file)
        let addedTokens = try Self.readAddedTokens(fields)
        // Tables downstream are as long as the largest id (the vocabulary size).
        let limit = 2 * model.idCount + 65536
        if let huge = addedTokens.first(where: { $0.id >= limit }) {
            throw fields.error(
                "added_tokens",
                "gives '\(huge.content)' id \(huge.id); ids must stay below \(limit) for this vocabulary")
        }
        let normalizer = try fields.object("normalizer").map(Normalizer.read)
        var components = JSONObject()
        for key in Self.componentKeys { components[key] = fields.object[key] ?? .null }
        self.init(
            model: model,
            addedTokens: addedTokens,
            normalizer: normalizer,
            preTokenizer: try PreTokenizer.read(fields.object("pre_tokenizer")),
            postProcessor: try PostProcessor.read(fields.object("post_processor")),
            decoder: try TokenDecoder.read(fields.object("decoder")),
            componentJSON: components)
    }

    private static func readModel(_ fields: JSONFields, file: String) throws -> BPEModel {
        if let dropout = try fields.double("dropout"), dropout > 0 {
            throw fields.error("dropout", "is \(dropout); BPE dropout is not supported (encoding would be random)")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = try fields.string(key), !value.isEmpty {
                throw fields.error(key, "is '\(value)'; gputrain supports BPE without subword prefixes or suffixes")
            }
        }
        let vocabFields = try fields.required("vocab", fields.object)
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(vocabFields.object.count)
        for entry in vocabFields.object.entries {
            guard let id = entry.value.intValue, id >= 0 else {
                throw vocabFields.error(entry.key, "should be a non-negative token id, found \(entry.value.kindName)")
            }
            vocabulary[entry.key] = id
        }
        let mergeValues = try fields.required("merges", fields.array)
        let merges = try mergeValues.enumerated().map { index, value -> BPEModel.Merge in
            // Legacy "a b" strings, or [a, b] pairs (needed when a token contains a space).
            if let line = value.stringValue {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw fields.error(
                        "merges[\(index)]", "is \"\(line)\"; a merge string must be two tokens separated by one space")
                }
                return BPEModel.Merge(left: String(parts[0]), right: String(parts[1]))
            }
            if let pair = value.arrayValue, pair.count == 2, let left = pair[0].stringValue,
                let right = pair[1].stringValue
            {
                return BPEModel.Merge(left: left, right: right)
            }
            throw fields.error("merges[\(index)]", "should be \"a b\" or [\"a\", \"b\"], found \(value.kindName)")
        }
        return try BPEModel(
            vocabulary: vocabulary, merges: merges,
            ignoreMerges: try fields.bool("ignore_merges") ?? false,
            byteFallback: try fields.bool("byte_fallback") ?? false,
            unknownToken: try fields.string("unk_token"),
            fuseUnknown: try fields.bool("fuse_unk") ?? false,
            file: file)
    }

    private static func readAddedTokens(_ fields: JSONFields) throws -> [AddedToken] {
        try (fields.objects("added_tokens") ?? []).map { token in
            let special = try token.bool("special") ?? false
            return AddedToken(
                id: try token.required("id", token.count),
                content: try token.required("content", token.string),
                special: special,
                singleWord: try token.bool("single_word") ?? false,
                leftStrip: try token.bool("lstrip") ?? false,
                rightStrip: try token.bool("rstrip") ?? false,
                normalized: try token.bool("normalized"))
        }
    }

    // MARK: Writing

    /// The `tokenizer.json` document, in the schema and key order HF `tokenizers` writes (merges as
    /// pairs, vocab ordered by id), so that `Tokenizer.from_file` loads it.
    public func json() -> JSONValue {
        var document = JSONObject()
        for key in Self.componentKeys.prefix(3) { document[key] = componentJSON[key] ?? .null }
        if document["version"] == .null { document["version"] = "1.0" }
        document["added_tokens"] = .array(
            addedTokens.map { token in
                .object([
                    "id": .int(token.id), "content": .string(token.content), "single_word": .bool(token.singleWord),
                    "lstrip": .bool(token.leftStrip), "rstrip": .bool(token.rightStrip),
                    "normalized": .bool(token.normalized), "special": .bool(token.special),
                ])
            })
        for key in Self.componentKeys.dropFirst(3) { document[key] = componentJSON[key] ?? .null }
        var vocab = JSONObject()
        for id in 0..<model.idCount {
            if let token = model.token(of: id) { vocab[token] = .int(id) }
        }
        document["model"] = .object([
            "type": "BPE",
            "dropout": .null,
            "unk_token": .string(orNull: model.unknownToken),
            "continuing_subword_prefix": .null,
            "end_of_word_suffix": .null,
            "fuse_unk": .bool(model.fuseUnknown),
            "byte_fallback": .bool(model.byteFallback),
            "ignore_merges": .bool(model.ignoreMerges),
            "vocab": .object(vocab),
            "merges": .array(model.merges.map { [.string($0.left), .string($0.right)] }),
        ])
        return .object(document)
    }

    /// The `tokenizer.json` text.
    public func jsonData() -> Data { json().serializedData(.pretty) }

    /// Writes `tokenizer.json` to `url` atomically.
    public func write(to url: URL) throws { try AtomicFile.write(jsonData(), to: url) }
}
