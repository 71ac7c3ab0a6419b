import Foundation

/// A pre-tokenizer split pattern (docs/formats.md §2.4). The three regexes byte-level tokenizers use are
/// matched by hand-written scanners (fast, and with Oniguruma's `\s`, which is what Hugging Face
/// `tokenizers` runs); any other regex falls back to `NSRegularExpression` (ICU), and a literal
/// string pattern is matched exactly.
enum SplitPattern {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// cl100k style: case-insensitive contractions, letters with one leading non-letter, digits in
    /// groups of up to three, punctuation runs swallowing trailing newlines.
    case llama3
    /// As `llama3` but single digits.
    case qwen2
    case regex(NSRegularExpression)
    case literal([Unicode.Scalar])

    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The pattern for a `tokenizer.json` regex: a built-in scanner when the text is one of the
    /// known patterns, else ICU. Throws `failure(reason)` if ICU rejects it.
    static func regex(_ pattern: String, failure: (String) -> FormatError) throws -> SplitPattern {
        switch pattern {
        case gpt2Regex: return .gpt2
        case llama3Regex: return .llama3
        case qwen2Regex: return .qwen2
        default:
            if let problem = PatternSafety.backtrackingProblem(in: pattern) {
                throw failure(
                    "has a regex with \(problem), which can take exponential time; gputrain refuses it: \(ConfigError.shortened(pattern))"
                )
            }
            do {
                return .regex(try NSRegularExpression(pattern: pattern))
            } catch {
                throw failure("has a regex that does not compile: \(pattern)")
            }
        }
    }

    /// The ranges the pattern matches in `piece`, left to right and non-overlapping, as offsets
    /// from the piece's start.
    func matches(in piece: ArraySlice<Unicode.Scalar>) -> [Range<Int>] {
        var result: [Range<Int>] = []
        switch self {
        case .gpt2, .llama3, .qwen2:
            // These patterns match at every position, so the matches tile the piece.
            piece.withUnsafeBufferPointer { scalars in
                let classes = scalars.map(ScalarClass.init)
                var position = 0
                while position < scalars.count {
                    let end = matchEnd(scalars, classes, from: position)
                    result.append(position..<end)
                    position = end
                }
            }
        case .literal(let needle):
            guard !needle.isEmpty else { return [] }
            let scalars = Array(piece)
            var position = 0
            while position + needle.count <= scalars.count {
                if scalars[position..<(position + needle.count)].elementsEqual(needle) {
                    result.append(position..<(position + needle.count))
                    position += needle.count
                } else {
                    position += 1
                }
            }
        case .regex(let expression):
            result = Self.icuMatches(expression, piece)
        }
        return result
    }

    // MARK: Built-in scanners

    private func matchEnd(_ s: UnsafeBufferPointer<Unicode.Scalar>, _ c: [ScalarClass], from i: Int) -> Int {
        let end = s.count
        func run(_ start: Int, while predicate: (ScalarClass) -> Bool) -> Int {
            var j = start
            while j < end, predicate(c[j]) { j += 1 }
            return j
        }
        let isGPT2: Bool
        let digitLimit: Int
        switch self {
        case .gpt2: (isGPT2, digitLimit) = (true, 0)
        case .qwen2: (isGPT2, digitLimit) = (false, 1)
        default: (isGPT2, digitLimit) = (false, 3)
        }
        if s[i] == "'", let length = Self.contractionLength(s, i + 1, end, caseInsensitive: !isGPT2) {
            return i + 1 + length
        }
        if isGPT2 {
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
            let start = c[i] == .space && i + 1 < end && !c[i + 1].isWhitespace ? i + 1 : i
            if !c[start].isWhitespace {
                let kind = c[start]
                return run(start) { $0 == kind }
            }
        } else {
            // `[^\r\n\p{L}\p{N}]?\p{L}+`
            if c[i] == .letter { return run(i) { $0 == .letter } }
            if c[i] != .newline, c[i] != .number, i + 1 < end, c[i + 1] == .letter {
                return run(i + 1) { $0 == .letter }
            }
            // `\p{N}{1,3}` or `\p{N}`
            if c[i] == .number { return min(run(i) { $0 == .number }, i + digitLimit) }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let start = c[i] == .space && i + 1 < end && c[i + 1] == .other ? i + 1 : i
            if c[start] == .other {
                return run(run(start) { $0 == .other }) { $0 == .newline }
            }
        }
        // Whitespace at i.
        let whitespaceEnd = run(i) { $0.isWhitespace }
        if !isGPT2, let lastNewline = (i..<whitespaceEnd).last(where: { c[$0] == .newline }) {
            return lastNewline + 1  // `\s*[\r\n]+`
        }
        // `\s+(?!\S)` leaves the last whitespace for the next word when one follows; else `\s+`.
        if whitespaceEnd < end, whitespaceEnd - i >= 2 { return whitespaceEnd - 1 }
        return whitespaceEnd
    }

    /// The length of `s|t|re|ve|m|ll|d` at `i` (the apostrophe already matched), or `nil`.
    /// Case-insensitive matching follows Unicode case folding, so `ſ` (long s) matches `s`.
    private static func contractionLength(
        _ s: UnsafeBufferPointer<Unicode.Scalar>, _ i: Int, _ end: Int, caseInsensitive: Bool
    ) -> Int? {
        func letter(_ offset: Int) -> Unicode.Scalar? {
            guard i + offset < end else { return nil }
            let scalar = s[i + offset]
            guard caseInsensitive else { return scalar }
            switch scalar {
            case "\u{017F}": return "s"
            case "A"..."Z": return Unicode.Scalar(scalar.value + 32)
            default: return scalar
            }
        }
        switch letter(0) {
        case "s", "t", "m", "d": return 1
        case "r", "v": return letter(1) == "e" ? 2 : nil
        case "l": return letter(1) == "l" ? 2 : nil
        default: return nil
        }
    }

    // MARK: ICU fallback

    /// Matches of `expression` in `scalars`, as scalar offsets from the slice start.
    private static func icuMatches(_ expression: NSRegularExpression, _ scalars: ArraySlice<Unicode.Scalar>) -> [Range<
        Int
    >] {
        let text = String(scalars: scalars)
        // NSRegularExpression reports UTF-16 offsets; map them back to scalar offsets.
        var scalarAtUTF16: [Int] = []
        scalarAtUTF16.reserveCapacity(scalars.count * 2 + 1)
        for (index, scalar) in scalars.enumerated() {
            scalarAtUTF16.append(index)
            if scalar.value > 0xFFFF { scalarAtUTF16.append(index) }
        }
        scalarAtUTF16.append(scalars.count)
        let whole = NSRange(location: 0, length: scalarAtUTF16.count - 1)
        return expression.matches(in: text, range: whole).compactMap { match in
            guard match.range.location != NSNotFound, match.range.length > 0 else { return nil }
            return scalarAtUTF16[match.range.location]..<scalarAtUTF16[match.range.location + match.range.length]
        }
    }
}
