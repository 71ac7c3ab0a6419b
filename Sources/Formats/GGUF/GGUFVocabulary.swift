import Foundation

/// The `tokenizer.*` metadata of a GGUF file for a `Tokenizer` (docs/formats.md §5.5), built the way
/// llama.cpp's `convert_hf_to_gguf.py` builds it so that llama.cpp loads the vocabulary and
/// tokenizes like Hugging Face:
/// - byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM) becomes `tokenizer.ggml.model = "gpt2"` with
///   the pre-tokenizer name llama.cpp uses for the same regex, the tokens in the byte-level
///   alphabet and the merges;
/// - SentencePiece-style BPE with byte fallback (Llama 2, TinyLlama, Mistral) becomes `"llama"`
///   with a score per token and no merges.
/// Tokens are padded to the model's vocabulary size with `[PAD<id>]`, since llama.cpp sizes the
/// embedding from the token count.
public struct GGUFVocabulary {
    /// The metadata, in the order the reference converter writes it.
    public private(set) var metadata = GGUFMetadata()
    /// What llama.cpp will do differently from Hugging Face with this vocabulary, for the user.
    public private(set) var warnings: [String] = []

    /// llama.cpp token types (`tokenizer.ggml.token_type`).
    enum TokenType: Int32 {
        case normal = 1
        case unknown = 2
        case control = 3
        case userDefined = 4
        case unused = 5
        case byte = 6
    }

    /// Builds the metadata for `tokenizer` serving a model with `config`; `tokenizerConfig` gives
    /// the special tokens by name and the chat templates. `fileName` names the output in errors.
    public init(tokenizer: Tokenizer, config: ModelConfig, tokenizerConfig: TokenizerConfigFile, fileName: String)
        throws
    {
        let size = config.vocabSize
        guard tokenizer.vocabularySize <= size else {
            throw FormatError(
                file: fileName,
                "cannot export the tokenizer: it has ids up to \(tokenizer.vocabularySize - 1), but the model's "
                    + "vocab_size is \(size); llama.cpp needs every token id to have an embedding row")
        }
        let sentencePiece = !tokenizer.preTokenizer.byteLevel
        guard !sentencePiece || tokenizer.model.byteFallback else {
            throw FormatError(
                file: fileName,
                "cannot export the tokenizer: llama.cpp reads byte-level BPE (ByteLevel pre-tokenizer) or "
                    + "SentencePiece-style BPE (byte_fallback true), and this tokenizer is neither")
        }
        let (tokens, types, shadowing) = Self.tokens(of: tokenizer, size: size, sentencePiece: sentencePiece)
        if let shadowing { warnings.append(shadowing) }
        try Self.requireDistinct(tokens, fileName: fileName)

        metadata["tokenizer.ggml.model"] = .string(sentencePiece ? "llama" : "gpt2")
        if sentencePiece {
            metadata["tokenizer.ggml.pre"] = .string("default")
        } else if let name = Self.preTokenizerName(tokenizer.preTokenizer) {
            metadata["tokenizer.ggml.pre"] = .string(name)
        } else {
            warnings.append(
                "the pre-tokenizer matches none llama.cpp implements (GPT-2, Llama 3, Qwen2, SmolLM); llama.cpp will "
                    + "split text with its default regex, so its token ids may differ from gputrain's")
        }
        metadata["tokenizer.ggml.tokens"] = .strings(tokens)
        if sentencePiece { metadata["tokenizer.ggml.scores"] = .float32s(Self.scores(of: tokenizer, tokens: tokens)) }
        metadata["tokenizer.ggml.token_type"] = .int32s(types.map(\.rawValue))
        if !sentencePiece {
            // llama.cpp splits a merge at its first space, so spaces inside a token are written as
            // U+0120, as the reference converter does.
            let spaced = { (part: String) in part.replacingOccurrences(of: " ", with: "\u{0120}") }
            metadata["tokenizer.ggml.merges"] = .strings(
                tokenizer.model.merges.map { spaced($0.left) + " " + spaced($0.right) })
        }
        warnings += Self.divergences(of: tokenizer, sentencePiece: sentencePiece)
        addSpecialTokens(tokenizer: tokenizer, config: config, tokenizerConfig: tokenizerConfig, size: size)
        if sentencePiece {
            metadata["tokenizer.ggml.add_space_prefix"] = .bool(Self.prependsSpace(tokenizer))
        }
        for (index, template) in tokenizerConfig.chatTemplates.enumerated() {
            let key =
                index == 0 ? "tokenizer.chat_template" : "tokenizer.chat_template." + Self.keySegment(template.name)
            metadata[key] = .string(template.source)
        }
    }

    // MARK: Tokens

    /// Token strings in id order and their llama.cpp types, plus a warning when an added token
    /// shadows a model token of another id.
    private static func tokens(of tokenizer: Tokenizer, size: Int, sentencePiece: Bool) -> (
        [String], [TokenType], String?
    ) {
        let added = Dictionary(tokenizer.addedTokens.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        let addedContents = Set(added.values.map(\.content))
        var tokens: [String] = []
        var types: [TokenType] = []
        var shadowed: [Int] = []
        tokens.reserveCapacity(size)
        types.reserveCapacity(size)
        for id in 0..<size {
            let (token, type): (String, TokenType)
            if let text = tokenizer.model.token(of: id), sentencePiece, text == tokenizer.model.unknownToken {
                (token, type) = (text, .unknown)
            } else if let addedToken = added[id] {
                (token, type) = (
                    addedToken.content, addedToken.special || looksSpecial(addedToken.content) ? .control : .userDefined
                )
            } else if let text = tokenizer.model.token(of: id), !addedContents.contains(text) {
                (token, type) = (text, sentencePiece && isByteToken(text) ? .byte : .normal)
            } else {
                // No token, or one an added token of another id shadows: llama.cpp needs distinct
                // token texts, and Hugging Face's vocabulary maps the text to the added id too.
                if tokenizer.model.token(of: id) != nil { shadowed.append(id) }
                (token, type) = ("[PAD\(id)]", .unused)
            }
            tokens.append(token)
            types.append(type)
        }
        let warning =
            shadowed.isEmpty
            ? nil
            : "model token ids \(shadowed) have the same text as added tokens with other ids; "
                + "they are exported as unused [PAD<id>] tokens (as llama.cpp's converter does)"
        return (tokens, types, warning)
    }

    /// Throws unless every token text is distinct: llama.cpp maps text back to ids and asserts it.
    private static func requireDistinct(_ tokens: [String], fileName: String) throws {
        var firstID: [String: Int] = [:]
        for (id, token) in tokens.enumerated() {
            if let other = firstID.updateValue(id, forKey: token) {
                throw FormatError(
                    file: fileName,
                    "cannot export the tokenizer: ids \(other) and \(id) are both '\(token)'; "
                        + "llama.cpp requires distinct tokens")
            }
        }
    }

    /// Added tokens that models mark as ordinary but that act as control tokens (the reference
    /// converter's `does_token_look_special`).
    static func looksSpecial(_ token: String) -> Bool {
        (token.hasPrefix("<|") && token.hasSuffix("|>")) || (token.hasPrefix("<｜") && token.hasSuffix("｜>"))
            || ["<pad>", "<mask>"].contains(token) || (token.hasPrefix("<unused") && token.hasSuffix(">"))
    }

    /// `<0xXX>`: a SentencePiece byte-fallback token.
    static func isByteToken(_ token: String) -> Bool {
        let scalars = Array(token.unicodeScalars)
        return scalars.count == 6 && token.hasPrefix("<0x") && token.hasSuffix(">")
            && scalars[3].properties.isASCIIHexDigit
            && scalars[4].properties.isASCIIHexDigit
    }

    /// SentencePiece scores, rebuilt from the merges since `tokenizer.json` does not keep them:
    /// llama.cpp's SentencePiece tokenizer repeatedly merges the adjacent pair whose joined token
    /// scores highest, and Hugging Face merges the pair of lowest rank, so the token made by merge
    /// `r` scores `-r`. Tokens that no merge makes score 0 when they are single characters or
    /// special (never a merge result), and below every merge otherwise, so that llama.cpp forms
    /// them only where no ranked merge applies.
    private static func scores(of tokenizer: Tokenizer, tokens: [String]) -> [Float] {
        var rankOfResult: [String: Int] = [:]
        for (rank, merge) in tokenizer.model.merges.enumerated() where rankOfResult[merge.left + merge.right] == nil {
            rankOfResult[merge.left + merge.right] = rank
        }
        let unranked = -Float(tokenizer.model.merges.count)
        return tokens.map { token in
            if let rank = rankOfResult[token] { return -Float(rank) }
            return token.unicodeScalars.count <= 1 || isByteToken(token) || looksSpecial(token) ? 0 : unranked
        }
    }

    // MARK: Pre-tokenizer

    /// The llama.cpp pre-tokenizer with the same splitting as `preTokenizer` (a byte-level one), or
    /// `nil` when llama.cpp has none.
    static func preTokenizerName(_ preTokenizer: PreTokenizer) -> String? {
        var splits: [SplitPattern] = []
        var individualDigits = false
        for step in preTokenizer.steps {
            switch step {
            case .split(let pattern, .isolated, invert: false): splits.append(pattern)
            case .digits(individual: true): individualDigits = true
            // GPT-2 with add_prefix_space: llama.cpp's BPE tokenizer has no such option; the split
            // regex is still GPT-2's.
            case .prefixSpace: continue
            default: return nil
            }
        }
        guard splits.count == 1 else { return nil }
        switch (splits[0], individualDigits) {
        case (.gpt2, false): return "gpt-2"
        case (.gpt2, true): return "smollm"
        // "llama-bpe" also turns on ignore_merges in llama.cpp (as Llama 3's tokenizer.json does);
        // a tokenizer without it can differ only on a piece that is whole in the vocabulary but that
        // the merges would not produce.
        case (.llama3, false): return "llama-bpe"
        case (.qwen2, false): return "qwen2"
        default: return nil
        }
    }

    /// Tokenizer settings llama.cpp's tokenizers cannot express: text they affect tokenizes
    /// differently there (the ids of training data, which gputrain tokenized, are unaffected).
    private static func divergences(of tokenizer: Tokenizer, sentencePiece: Bool) -> [String] {
        var warnings: [String] = []
        let consequence = "so llama.cpp may tokenize some text differently from gputrain"
        if !sentencePiece, tokenizer.normalizer != nil {
            warnings.append(
                "llama.cpp's BPE tokenizer does not run the tokenizer's normalizer (e.g. Qwen2's NFC) on text, \(consequence)"
            )
        }
        if tokenizer.preTokenizer.steps.contains(where: {
            if case .prefixSpace = $0 { return true } else { return false }
        }) {
            warnings.append("llama.cpp's BPE tokenizer has no add_prefix_space, \(consequence)")
        }
        let prependsFirstOnly = tokenizer.preTokenizer.steps.contains { step in
            if case .metaspace(_, .first, _) = step { return true }
            return false
        }
        if sentencePiece, prependsFirstOnly {
            warnings.append(
                "llama.cpp puts the SentencePiece space prefix before every text after a special token as well, not only at "
                    + "the start (Metaspace prepend_scheme \"first\"), \(consequence)")
        }
        return warnings
    }

    /// Whether SentencePiece-style encoding puts `▁` before the text (legacy `Prepend` normalizer
    /// or a Metaspace that prepends), which llama.cpp calls `add_space_prefix`.
    private static func prependsSpace(_ tokenizer: Tokenizer) -> Bool {
        func prepends(_ normalizer: Normalizer) -> Bool {
            switch normalizer {
            case .prepend(let text): return text == "\u{2581}"
            case .sequence(let steps): return steps.contains(where: prepends)
            default: return false
            }
        }
        if let normalizer = tokenizer.normalizer, prepends(normalizer) { return true }
        return tokenizer.preTokenizer.steps.contains { step in
            if case .metaspace(_, let scheme, _) = step { return scheme != .never }
            return false
        }
    }

    // MARK: Special tokens

    /// bos/eos/unk/pad ids (named in tokenizer_config.json, else the model config's ids, else the
    /// model's unknown token) and whether encoding adds BOS/EOS (read from the post-processor, which
    /// is what Hugging Face fast tokenizers apply).
    private mutating func addSpecialTokens(
        tokenizer: Tokenizer, config: ModelConfig, tokenizerConfig: TokenizerConfigFile, size: Int
    ) {
        func id(named name: String?) -> Int? { name.flatMap { tokenizer.id(of: $0) } }
        let template = tokenizer.postProcessor.template
        var leading: Int?
        var trailing: Int?
        if case .ids(let ids)? = template.first, template.count > 1 { leading = ids.first }
        if case .ids(let ids)? = template.last, template.count > 1 { trailing = ids.last }
        let bos = id(named: tokenizerConfig.bosToken) ?? config.bosTokenID ?? leading
        let eos = id(named: tokenizerConfig.eosToken) ?? config.eosTokenID ?? trailing
        let unknown = id(named: tokenizerConfig.unknownToken) ?? id(named: tokenizer.model.unknownToken)
        let padding = id(named: tokenizerConfig.padToken) ?? config.padTokenID
        let specials = [("bos", bos), ("eos", eos), ("unknown", unknown), ("padding", padding)]
        for case (let name, let value?) in specials where (0..<size).contains(value) {
            metadata["tokenizer.ggml.\(name)_token_id"] = .uint32(UInt32(value))
        }
        // Always written: llama.cpp otherwise assumes BOS for some pre-tokenizers (llama-bpe) and for
        // every SentencePiece vocabulary, whatever the tokenizer does.
        metadata["tokenizer.ggml.add_bos_token"] = .bool(leading != nil && leading == bos)
        metadata["tokenizer.ggml.add_eos_token"] = .bool(trailing != nil && trailing == eos)
    }

    /// `name` as a key segment: letters and digits kept, anything else `_` (as the reference
    /// converter names extra chat templates).
    static func keySegment(_ name: String) -> String {
        String(
            name.unicodeScalars.map {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) ? Character($0) : "_"
            })
    }
}
