/// A token matched in the raw text before the model runs, such as `<|endoftext|>` (docs/formats.md §2.6).
public struct AddedToken: Equatable, Sendable {
    public var id: Int
    public var content: String
    /// Only match when not glued to word characters on either side.
    public var singleWord: Bool
    /// Absorb whitespace to the left into the token's span.
    public var leftStrip: Bool
    /// Absorb whitespace to the right into the token's span.
    public var rightStrip: Bool
    /// Match against normalized text (true) or the raw text (false).
    public var normalized: Bool
    /// A control token: `decode(skipSpecialTokens: true)` drops it.
    public var special: Bool

    /// A token with Hugging Face's defaults: special tokens are matched on raw text, others on
    /// normalized text.
    public init(
        id: Int, content: String, special: Bool, singleWord: Bool = false, leftStrip: Bool = false,
        rightStrip: Bool = false, normalized: Bool? = nil
    ) {
        self.id = id
        self.content = content
        self.special = special
        self.singleWord = singleWord
        self.leftStrip = leftStrip
        self.rightStrip = rightStrip
        self.normalized = normalized ?? !special
    }
}

/// Finds added tokens in text the way HF's `AddedVocabulary` does: leftmost-longest matches, then
/// the `single_word`, `lstrip` and `rstrip` rules.
struct AddedTokenMatcher {
    /// A stretch of text, or an added token with the span it covers (whitespace it stripped included).
    enum Segment: Equatable {
        case text(Range<Int>)
        case token(id: Int, Range<Int>)
    }

    private let tokens: [AddedToken]
    private let patterns: [[Unicode.Scalar]]
    /// Candidate token indices by first scalar, longest first.
    private let candidates: [Unicode.Scalar: [Int]]
    /// Whether some token starts with each ASCII scalar: a cheap test that skips the dictionary
    /// lookup for almost every position of ordinary text.
    private let startsASCII: [Bool]
    private let startsNonASCII: Bool

    /// A matcher for `tokens`, whose text is `patterns` (the content, normalized if needed).
    init(tokens: [AddedToken], patterns: [String]) {
        self.tokens = tokens
        self.patterns = patterns.map { Array($0.unicodeScalars) }
        var candidates: [Unicode.Scalar: [Int]] = [:]
        for (index, pattern) in self.patterns.enumerated() {
            guard let first = pattern.first else { continue }
            candidates[first, default: []].append(index)
        }
        for key in candidates.keys {
            let patterns = self.patterns
            candidates[key]!.sort { patterns[$0].count > patterns[$1].count }
        }
        self.candidates = candidates
        startsASCII = (0..<128).map { candidates[Unicode.Scalar(UInt8($0))] != nil }
        startsNonASCII = candidates.keys.contains { !$0.isASCII }
    }

    var isEmpty: Bool { candidates.isEmpty }

    /// Splits `text` into text and token segments that tile it. Special tokens are only matched
    /// when `matchSpecial`.
    func segments(of text: [Unicode.Scalar], matchSpecial: Bool) -> [Segment] {
        var segments: [Segment] = []
        var emitted = 0  // end of the last segment
        var position = 0
        while position < text.count {
            guard let index = longestMatch(in: text, at: position, matchSpecial: matchSpecial) else {
                position += 1
                continue
            }
            let token = tokens[index]
            var start = position
            var stop = position + patterns[index].count
            position = stop
            if token.singleWord {
                let gluedLeft = start > 0 && Self.isWordCharacter(text[start - 1])
                let gluedRight = stop < text.count && Self.isWordCharacter(text[stop])
                if gluedLeft || gluedRight { continue }
            }
            if token.leftStrip {
                while start > emitted, text[start - 1].properties.isWhitespace { start -= 1 }
            }
            if token.rightStrip {
                while stop < text.count, text[stop].properties.isWhitespace { stop += 1 }
                position = stop
            }
            if emitted < start { segments.append(.text(emitted..<start)) }
            segments.append(.token(id: token.id, start..<stop))
            emitted = stop
        }
        if emitted < text.count { segments.append(.text(emitted..<text.count)) }
        return segments
    }

    private func longestMatch(in text: [Unicode.Scalar], at position: Int, matchSpecial: Bool) -> Int? {
        let first = text[position]
        guard first.isASCII ? startsASCII[Int(first.value)] : startsNonASCII, let indices = candidates[first] else {
            return nil
        }
        for index in indices where matchSpecial || !tokens[index].special {
            let pattern = patterns[index]
            if position + pattern.count <= text.count,
                text[position..<(position + pattern.count)].elementsEqual(pattern)
            {
                return index
            }
        }
        return nil
    }

    /// Rust regex `\w`: alphabetic, marks, decimal digits, connector punctuation, join controls.
    private static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        if properties.isAlphabetic || properties.isJoinControl { return true }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }
}
