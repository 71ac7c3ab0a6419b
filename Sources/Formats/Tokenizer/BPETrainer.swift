import Foundation

/// Trains a byte-level BPE tokenizer (GPT-2 style) on text, as Hugging Face's `BpeTrainer` with a
/// `ByteLevel` pre-tokenizer does:
///
/// - text is cut at special tokens, pre-tokenized with the GPT-2 regex, and the pieces counted;
/// - ids: the special tokens first (in the given order), then the 256 byte characters in code
///   point order, then one token per merge;
/// - each step merges the most frequent adjacent pair; ties go to the pair with the smallest
///   (left id, right id), so training is deterministic;
/// - pair counts are kept up to date incrementally (only words containing the merged pair are
///   touched), with a lazily invalidated heap for the maximum.
///
/// Feed text with `count(_:)` (any number of times, e.g. while streaming a corpus), then `train()`.
public struct BPETrainer {
    /// The special tokens gputrain's tokenizers start with.
    public static let defaultSpecialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]

    /// Target size of the vocabulary, special tokens and the 256 byte tokens included.
    public var vocabularySize: Int
    /// Added as special tokens with the first ids; never split, never merged into.
    public let specialTokens: [String]
    /// Stop merging when the most frequent pair occurs fewer times than this.
    public var minimumFrequency: Int

    private var wordCounts: [String: Int] = [:]
    private let matcher: AddedTokenMatcher

    /// A trainer; throws if the special tokens are empty strings or repeated.
    public init(vocabularySize: Int, specialTokens: [String] = defaultSpecialTokens, minimumFrequency: Int = 2) throws {
        guard Set(specialTokens).count == specialTokens.count, !specialTokens.contains("") else {
            throw BPETrainerError("special tokens must be distinct, non-empty strings: \(specialTokens)")
        }
        guard vocabularySize >= specialTokens.count + 256 else {
            throw BPETrainerError(
                "vocabulary size \(vocabularySize) is smaller than the 256 byte tokens plus \(specialTokens.count) special tokens"
            )
        }
        self.vocabularySize = vocabularySize
        self.specialTokens = specialTokens
        self.minimumFrequency = max(1, minimumFrequency)
        let tokens = specialTokens.enumerated().map { AddedToken(id: $0, content: $1, special: true) }
        matcher = AddedTokenMatcher(tokens: tokens, patterns: specialTokens)
    }

    /// Counts the pre-tokenized words of `text`.
    public mutating func count(_ text: String) {
        let scalars = Array(text.unicodeScalars)
        for segment in matcher.segments(of: scalars, matchSpecial: true) {
            guard case .text(let range) = segment else { continue }
            let piece = scalars[range]
            for match in SplitPattern.gpt2.matches(in: piece) {
                let start = piece.startIndex + match.lowerBound
                wordCounts[String(scalars: scalars[start..<(start + match.count)]), default: 0] += 1
            }
        }
    }

    /// The number of distinct words counted so far.
    public var distinctWordCount: Int { wordCounts.count }

    /// Learns the merges and returns the tokenizer.
    public func train() throws -> Tokenizer {
        var state = MergeState(specialTokens: specialTokens, wordCounts: wordCounts)
        while state.tokens.count < vocabularySize, state.mergeBestPair(minimumFrequency: minimumFrequency) {}
        return try Tokenizer(json: state.tokenizerJSON(specialTokens: specialTokens), file: "trained tokenizer")
    }
}

extension Tokenizer {
    /// Trains a byte-level BPE tokenizer on `texts` (see `BPETrainer`).
    public static func train(
        texts: [String], vocabSize: Int, specialTokens: [String] = BPETrainer.defaultSpecialTokens,
        minimumFrequency: Int = 2
    ) throws -> Tokenizer {
        var trainer = try BPETrainer(
            vocabularySize: vocabSize, specialTokens: specialTokens, minimumFrequency: minimumFrequency)
        for text in texts { trainer.count(text) }
        return try trainer.train()
    }
}

/// A tokenizer training problem (bad settings), with what to change.
public struct BPETrainerError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = "tokenizer training: \(description)" }
}

/// The words as id sequences, the pair statistics, and the growing vocabulary.
private struct MergeState {
    private(set) var tokens: [String]
    private var idOfToken: [String: Int32]
    private(set) var merges: [(Int32, Int32)] = []
    private var words: [[Int32]]
    private var wordCounts: [Int]
    private var pairCounts: [UInt64: Int] = [:]
    /// Words that contain (or once contained) each pair; may repeat and go stale.
    private var wordsWithPair: [UInt64: [Int32]] = [:]
    private var heap = BinaryHeap<(count: Int, pair: UInt64)> {
        $0.count != $1.count ? $0.count > $1.count : $0.pair < $1.pair
    }
    private var lastVisit: [Int]
    private var step = 0

    init(specialTokens: [String], wordCounts counts: [String: Int]) {
        let alphabet = ByteLevelAlphabet.scalars.sorted { $0.value < $1.value }.map { String($0) }
        tokens = specialTokens + alphabet
        idOfToken = Dictionary(tokens.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { first, _ in first })
        let ids = idOfToken
        let byteIDs = ByteLevelAlphabet.scalars.map { ids[String($0)]! }
        words = []
        wordCounts = []
        words.reserveCapacity(counts.count)
        for (word, count) in counts {
            words.append(word.utf8.map { byteIDs[Int($0)] })
            wordCounts.append(count)
        }
        lastVisit = [Int](repeating: -1, count: words.count)
        for (index, word) in words.enumerated() where word.count > 1 {
            for position in 0..<(word.count - 1) {
                let pair = Self.key(word[position], word[position + 1])
                pairCounts[pair, default: 0] += wordCounts[index]
                if wordsWithPair[pair]?.last != Int32(index) { wordsWithPair[pair, default: []].append(Int32(index)) }
            }
        }
        for (pair, count) in pairCounts { heap.push((count, pair)) }
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
    }

    /// Merges the most frequent pair everywhere; false when no pair reaches `minimumFrequency`.
    mutating func mergeBestPair(minimumFrequency: Int) -> Bool {
        while let top = heap.pop() {
            let current = pairCounts[top.pair] ?? 0
            if current != top.count {
                if current > 0 { heap.push((current, top.pair)) }
                continue
            }
            guard current >= minimumFrequency else { return false }
            merge(top.pair)
            return true
        }
        return false
    }

    private mutating func merge(_ pair: UInt64) {
        let left = Int32(truncatingIfNeeded: pair >> 32)
        let right = Int32(truncatingIfNeeded: pair & 0xFFFF_FFFF)
        let text = tokens[Int(left)] + tokens[Int(right)]
        let merged: Int32
        if let existing = idOfToken[text] {
            merged = existing
        } else {
            merged = Int32(tokens.count)
            tokens.append(text)
            idOfToken[text] = merged
        }
        merges.append((left, right))
        step += 1
        var increased = Set<UInt64>()
        func change(_ pair: UInt64, by delta: Int, word: Int32) {
            pairCounts[pair, default: 0] += delta
            if delta > 0 {
                increased.insert(pair)
                if wordsWithPair[pair]?.last != word { wordsWithPair[pair, default: []].append(word) }
            }
        }
        for wordIndex in wordsWithPair.removeValue(forKey: pair) ?? [] where lastVisit[Int(wordIndex)] != step {
            lastVisit[Int(wordIndex)] = step
            let count = wordCounts[Int(wordIndex)]
            var word = words[Int(wordIndex)]
            var position = 0
            // Left to right, non-overlapping, as HF's `Word::merge`.
            while position < word.count - 1 {
                guard word[position] == left, word[position + 1] == right else {
                    position += 1
                    continue
                }
                if position > 0 {
                    change(Self.key(word[position - 1], left), by: -count, word: wordIndex)
                    change(Self.key(word[position - 1], merged), by: count, word: wordIndex)
                }
                if position + 2 < word.count {
                    change(Self.key(right, word[position + 2]), by: -count, word: wordIndex)
                    change(Self.key(merged, word[position + 2]), by: count, word: wordIndex)
                }
                word[position] = merged
                word.remove(at: position + 1)
                position += 1
            }
            words[Int(wordIndex)] = word
        }
        pairCounts[pair] = nil
        for pair in increased {
            if let count = pairCounts[pair], count > 0 { heap.push((count, pair)) }
        }
    }

    /// The `tokenizer.json` document of the trained tokenizer.
    func tokenizerJSON(specialTokens: [String]) -> JSONValue {
        var vocab = JSONObject()
        for (id, token) in tokens.enumerated() where vocab[token] == nil { vocab[token] = .int(id) }
        let byteLevel: JSONObject = [
            "type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true,
        ]
        return .object([
            "version": "1.0",
            "truncation": nil,
            "padding": nil,
            "added_tokens": .array(
                specialTokens.enumerated().map { id, content in
                    .object([
                        "id": .int(id), "content": .string(content), "single_word": false, "lstrip": false,
                        "rstrip": false, "normalized": false, "special": true,
                    ])
                }),
            "normalizer": nil,
            "pre_tokenizer": .object(byteLevel),
            "post_processor": .object(byteLevel),
            "decoder": .object(byteLevel),
            "model": .object([
                "type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
                "end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": .object(vocab),
                "merges": .array(merges.map { [.string(tokens[Int($0.0)]), .string(tokens[Int($0.1)])] }),
            ]),
        ])
    }
}
