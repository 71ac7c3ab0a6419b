import Foundation

/// A Hugging Face `tokenizer.json` BPE tokenizer (docs/formats.md §2): byte-level (GPT-2, Llama 3, Qwen2,
/// SmolLM) or SentencePiece-style with byte fallback (Llama 2, TinyLlama, Mistral).
///
/// Encoding runs HF's pipeline: added tokens are cut out of the raw text, the rest is normalized,
/// pre-tokenized and merged piece by piece (pieces are cached, so repeated words cost one lookup),
/// then the post-processor adds BOS and the like. Truncation and padding settings in the file are
/// kept when writing but not applied. Safe to use from several threads.
public final class Tokenizer: @unchecked Sendable {
    /// Every added token (special or not), in file order.
    public let addedTokens: [AddedToken]

    let model: BPEModel
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer
    let postProcessor: PostProcessor
    let decoder: TokenDecoder
    /// The file's `version`, `truncation`, `padding`, `normalizer`, `pre_tokenizer`,
    /// `post_processor` and `decoder` values, written back unchanged.
    let componentJSON: JSONObject

    private let addedByID: [Int: AddedToken]
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher
    private let lock = NSLock()
    private var cache: [String: [Int]] = [:]
    /// Pieces longer than this are not cached (they are rare and would bloat the cache).
    private static let cachedPieceLength = 128
    /// The cache is cleared when it grows past this many pieces.
    private static let cacheCapacity = 500_000

    init(
        model: BPEModel, addedTokens: [AddedToken], normalizer: Normalizer?, preTokenizer: PreTokenizer,
        postProcessor: PostProcessor, decoder: TokenDecoder, componentJSON: JSONObject
    ) {
        self.model = model
        self.addedTokens = addedTokens
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.componentJSON = componentJSON
        addedByID = Dictionary(addedTokens.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        // As in HF: tokens with `normalized: false` are found in the raw text first, the others
        // afterwards in the normalized text (compared with their own normalized content).
        let raw = addedTokens.filter { !$0.normalized }
        rawMatcher = AddedTokenMatcher(tokens: raw, patterns: raw.map(\.content))
        let normalized = addedTokens.filter(\.normalized)
        normalizedMatcher = AddedTokenMatcher(
            tokens: normalized, patterns: normalized.map { normalizer?.apply($0.content) ?? $0.content })
    }

    // MARK: Vocabulary

    /// One more than the largest id (model vocabulary and added tokens together).
    public var vocabularySize: Int { max(model.idCount, (addedTokens.map(\.id).max() ?? -1) + 1) }

    /// The id of a token string (added tokens first, then the model vocabulary).
    public func id(of token: String) -> Int? {
        addedTokens.first { $0.content == token }?.id ?? model.vocabulary[token]
    }

    /// The token string of `id`: an added token's content, or the model's (byte-level alphabet) string.
    public func token(of id: Int) -> String? { addedByID[id]?.content ?? model.token(of: id) }

    /// The added tokens marked special.
    public var specialTokens: [AddedToken] { addedTokens.filter(\.special) }

    // MARK: Encoding

    /// The ids of `text`. `addSpecialTokens` applies the post-processor (e.g. Llama 3 prepends
    /// `<|begin_of_text|>`; GPT-2 and Qwen2 add nothing). With `parseSpecialTokens` false, special
    /// token strings in the text are encoded as ordinary text (HF `split_special_tokens`), which is
    /// what untrusted training text usually wants.
    public func encode(_ text: String, addSpecialTokens: Bool = true, parseSpecialTokens: Bool = true) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        ids.reserveCapacity(scalars.count / 3)
        for segment in rawMatcher.segments(of: scalars, matchSpecial: parseSpecialTokens) {
            switch segment {
            case .token(let id, _):
                ids.append(id)
            case .text(let range):
                encodeSegment(
                    scalars[range], isFirst: range.lowerBound == 0, parseSpecialTokens: parseSpecialTokens, into: &ids)
            }
        }
        return addSpecialTokens ? postProcessor.apply(to: ids) : ids
    }

    private func encodeSegment(
        _ segment: ArraySlice<Unicode.Scalar>, isFirst: Bool, parseSpecialTokens: Bool, into ids: inout [Int]
    ) {
        guard normalizer != nil || !normalizedMatcher.isEmpty else {
            encodeNormalized(Array(segment), isFirst: isFirst, into: &ids)
            return
        }
        let text = String(scalars: segment)
        let normalized = Array((normalizer?.apply(text) ?? text).unicodeScalars)
        for part in normalizedMatcher.segments(of: normalized, matchSpecial: parseSpecialTokens) {
            switch part {
            case .token(let id, _):
                ids.append(id)
            case .text(let range):
                encodeNormalized(Array(normalized[range]), isFirst: isFirst && range.lowerBound == 0, into: &ids)
            }
        }
    }

    private func encodeNormalized(_ text: [Unicode.Scalar], isFirst: Bool, into ids: inout [Int]) {
        for piece in preTokenizer.pieces(of: text, isFirstSegment: isFirst) {
            let key = String(scalars: piece)
            let cacheable = piece.count <= Self.cachedPieceLength
            if cacheable {
                lock.lock()
                let cached = cache[key]
                lock.unlock()
                if let cached {
                    ids.append(contentsOf: cached)
                    continue
                }
            }
            var pieceIDs: [Int] = []
            model.tokenize(key, byteLevel: preTokenizer.byteLevel, into: &pieceIDs)
            ids.append(contentsOf: pieceIDs)
            if cacheable {
                lock.lock()
                if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
                cache[key] = pieceIDs
                lock.unlock()
            }
        }
    }

    // MARK: Decoding

    /// The text of `ids`, as HF decodes: each id becomes its token string (an added token's content,
    /// or the model's token), special tokens are dropped if asked, and the whole list goes through
    /// the decoder (byte-level: back to bytes, then lossy UTF-8). Unknown ids are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        let tokens = ids.compactMap { id -> String? in
            if let added = addedByID[id] { return skipSpecialTokens && added.special ? nil : added.content }
            return model.token(of: id)
        }
        return decoder.decode(tokens)
    }
}
