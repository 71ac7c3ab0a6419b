import Foundation

/// The `BPE` model of `tokenizer.json` (docs/formats.md §2.2, §2.5, §2.9): a vocabulary, ranked merges,
/// and the merge algorithm that turns one pre-tokenized piece into ids.
struct BPEModel {
    /// One merge: the two tokens, in rank order.
    struct Merge: Equatable {
        var left: String
        var right: String
    }

    /// What a pair of adjacent ids merges into, and how early (lower rank first).
    private struct Rule {
        var rank: Int32
        var result: Int32
    }

    let vocabulary: [String: Int]
    let merges: [Merge]
    /// Whether a piece found whole in the vocabulary skips merging (Llama 3, tiktoken conversions).
    let ignoreMerges: Bool
    /// Whether characters missing from the vocabulary become `<0xXX>` byte tokens.
    let byteFallback: Bool
    let unknownToken: String?
    /// Whether consecutive unknown characters become a single unknown token.
    let fuseUnknown: Bool

    private let tokenOfID: [String?]
    private let rules: [UInt64: Rule]
    private let unknownID: Int32?
    /// For byte-level input: what each byte value starts as (usually one id; see `symbol(for:)`).
    private let byteSymbols: [Symbol]

    /// How one character enters the merge loop.
    private enum Symbol {
        case known(Int32)
        case bytes([Int32])
        case unknown
        case dropped
    }

    /// Builds the model, checking that every merge's halves and result are in the vocabulary.
    init(
        vocabulary: [String: Int], merges: [Merge], ignoreMerges: Bool = false, byteFallback: Bool = false,
        unknownToken: String? = nil, fuseUnknown: Bool = false, file: String
    ) throws {
        self.vocabulary = vocabulary
        self.merges = merges
        self.ignoreMerges = ignoreMerges
        self.byteFallback = byteFallback
        self.unknownToken = unknownToken
        self.fuseUnknown = fuseUnknown

        // The id table is as long as the largest id: bounded by the entries the file holds, so a
        // stray huge id cannot ask for gigabytes.
        let largest = vocabulary.values.max() ?? -1
        let limit = min(2 * vocabulary.count + 65536, Int(Int32.max))
        guard largest < limit, vocabulary.values.allSatisfy({ $0 >= 0 }) else {
            throw FormatError(
                file: file,
                "model.vocab ids must be between 0 and \(limit - 1) (twice its \(vocabulary.count) entries, "
                    + "plus 65536), found \(largest)")
        }
        var tokenOfID = [String?](repeating: nil, count: largest + 1)
        for (token, id) in vocabulary {
            if let other = tokenOfID[id] {
                throw FormatError(file: file, "model.vocab gives id \(id) to both '\(other)' and '\(token)'")
            }
            tokenOfID[id] = token
        }
        self.tokenOfID = tokenOfID

        var rules: [UInt64: Rule] = [:]
        rules.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            guard let left = vocabulary[merge.left], let right = vocabulary[merge.right],
                let result = vocabulary[merge.left + merge.right]
            else {
                let missing = [merge.left, merge.right, merge.left + merge.right].first { vocabulary[$0] == nil }!
                throw FormatError(
                    file: file,
                    "merge \(rank) ('\(merge.left)' '\(merge.right)') uses '\(missing)', which is not in model.vocab (MergeTokenOutOfVocabulary)"
                )
            }
            let key = Self.key(Int32(left), Int32(right))
            // A repeated merge keeps its first (best) rank, like HF's map construction order.
            if rules[key] == nil { rules[key] = Rule(rank: Int32(rank), result: Int32(result)) }
        }
        self.rules = rules

        if let unknownToken {
            guard let id = vocabulary[unknownToken] else {
                throw FormatError(
                    file: file, "model.unk_token '\(unknownToken)' is not in model.vocab (UnkTokenOutOfVocabulary)")
            }
            unknownID = Int32(id)
        } else {
            unknownID = nil
        }
        byteSymbols = ByteLevelAlphabet.scalars.map {
            Self.symbol(
                for: String($0), vocabulary: vocabulary, byteFallback: byteFallback, hasUnknown: unknownToken != nil)
        }
    }

    /// The number of ids (one more than the largest).
    var idCount: Int { tokenOfID.count }

    /// The token string of `id`, if the vocabulary has it.
    func token(of id: Int) -> String? { id >= 0 && id < tokenOfID.count ? tokenOfID[id] : nil }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// How `character` starts out: its id; else its `<0xXX>` byte tokens (with byte fallback,
    /// when all exist); else unknown (when there is an unknown token); else it is dropped, as HF does.
    private static func symbol(for character: String, vocabulary: [String: Int], byteFallback: Bool, hasUnknown: Bool)
        -> Symbol
    {
        if let id = vocabulary[character] { return .known(Int32(id)) }
        if byteFallback {
            let ids = character.utf8.compactMap { vocabulary[String(format: "<0x%02X>", $0)].map(Int32.init) }
            if ids.count == character.utf8.count { return .bytes(ids) }
        }
        return hasUnknown ? .unknown : .dropped
    }

    /// Appends the ids of one pre-tokenized piece to `ids`. With `byteLevel`, the piece's UTF-8
    /// bytes are read through the byte-level alphabet (without building the mapped string).
    func tokenize(_ piece: String, byteLevel: Bool, into ids: inout [Int]) {
        if ignoreMerges {
            let whole = byteLevel ? ByteLevelAlphabet.encode(piece) : piece
            if let id = vocabulary[whole] {
                ids.append(id)
                return
            }
        }
        var symbols: [Int32] = []
        symbols.reserveCapacity(piece.utf8.count)
        var pendingUnknown = false
        func add(_ symbol: Symbol) {
            switch symbol {
            case .known(let id):
                if pendingUnknown, let unknownID { symbols.append(unknownID) }
                pendingUnknown = false
                symbols.append(id)
            case .bytes(let byteIDs):
                if pendingUnknown, let unknownID { symbols.append(unknownID) }
                pendingUnknown = false
                symbols.append(contentsOf: byteIDs)
            case .unknown:
                if pendingUnknown, !fuseUnknown, let unknownID { symbols.append(unknownID) }
                pendingUnknown = true
            case .dropped:
                break
            }
        }
        if byteLevel {
            for byte in piece.utf8 { add(byteSymbols[Int(byte)]) }
        } else {
            for scalar in piece.unicodeScalars {
                add(
                    Self.symbol(
                        for: String(scalar), vocabulary: vocabulary, byteFallback: byteFallback,
                        hasUnknown: unknownID != nil))
            }
        }
        if pendingUnknown, let unknownID { symbols.append(unknownID) }
        merge(&symbols)
        for symbol in symbols { ids.append(Int(symbol)) }
    }

    /// Applies merges lowest rank first, ties leftmost first, exactly like HF's `Word::merge_all`.
    private func merge(_ symbols: inout [Int32]) {
        guard symbols.count > 1 else { return }
        if symbols.count <= Self.shortWordLength {
            mergeShort(&symbols)
        } else {
            mergeLong(&symbols)
        }
    }

    /// Up to this many symbols, a linear scan for the best pair beats maintaining a heap.
    private static let shortWordLength = 48

    /// The rank and result of each adjacent pair kept in arrays; each step takes the lowest rank
    /// (leftmost on ties), merges, and looks up only the two pairs that changed.
    private func mergeShort(_ symbols: inout [Int32]) {
        let none = Rule(rank: .max, result: -1)
        var pairs = (0..<(symbols.count - 1)).map { rules[Self.key(symbols[$0], symbols[$0 + 1])] ?? none }
        while true {
            var best = -1
            var bestRank = Int32.max
            for index in pairs.indices where pairs[index].rank < bestRank {
                best = index
                bestRank = pairs[index].rank
            }
            guard best >= 0 else { return }
            symbols[best] = pairs[best].result
            symbols.remove(at: best + 1)
            pairs.remove(at: best)
            if best > 0 { pairs[best - 1] = rules[Self.key(symbols[best - 1], symbols[best])] ?? none }
            if best < pairs.count { pairs[best] = rules[Self.key(symbols[best], symbols[best + 1])] ?? none }
        }
    }

    /// A heap of candidate pairs keyed by (rank, position), skipping entries made stale by earlier
    /// merges; O(n log n) for long pieces (whitespace runs, SentencePiece's whole-text words).
    private func mergeLong(_ symbols: inout [Int32]) {
        let count = symbols.count
        var next = Array(1...count)  // `count` = no next symbol
        var previous = Array(-1..<(count - 1))
        var alive = [Bool](repeating: true, count: count)
        // Key: rank in the high half, position in the low half, so one comparison orders both.
        var heap = BinaryHeap<(key: UInt64, result: Int32)> { $0.key < $1.key }
        func consider(_ position: Int) {
            let following = next[position]
            guard following < count, let rule = rules[Self.key(symbols[position], symbols[following])] else { return }
            heap.push((UInt64(rule.rank) << 32 | UInt64(position), rule.result))
        }
        for position in 0..<(count - 1) { consider(position) }
        while let top = heap.pop() {
            let position = Int(top.key & 0xFFFF_FFFF)
            let following = next[position]
            guard alive[position], following < count,
                rules[Self.key(symbols[position], symbols[following])]?.result == top.result
            else { continue }
            symbols[position] = top.result
            alive[following] = false
            next[position] = next[following]
            if next[position] < count { previous[next[position]] = position }
            if previous[position] >= 0 { consider(previous[position]) }
            consider(position)
        }
        var merged: [Int32] = []
        var position = 0
        while position < count {
            merged.append(symbols[position])
            position = next[position]
        }
        symbols = merged
    }
}
