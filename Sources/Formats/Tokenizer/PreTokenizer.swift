import Foundation

/// How `Split` turns pattern matches into pieces (HF `SplitDelimiterBehavior`).
enum SplitBehavior: String {
    /// Matches and the text between them are separate pieces.
    case isolated = "Isolated"
    /// Matches are dropped.
    case removed = "Removed"
    /// Each match joins the piece before it.
    case mergedWithPrevious = "MergedWithPrevious"
    /// Each match joins the piece after it.
    case mergedWithNext = "MergedWithNext"
    /// Adjacent matches form one piece.
    case contiguous = "Contiguous"
}

/// One pre-tokenizer component of `tokenizer.json` (docs/formats.md §2.4).
enum PreTokenizerStep {
    case split(SplitPattern, SplitBehavior, invert: Bool)
    /// Digits split off (each alone when `individual`, else in runs).
    case digits(individual: Bool)
    /// SentencePiece-style: spaces become `replacement`, which is also prepended (always, only
    /// to the text's first segment, or never); optionally split before each `replacement`.
    case metaspace(replacement: Unicode.Scalar, prepend: PrependScheme, split: Bool)
    /// ByteLevel's `add_prefix_space`: a space before every piece that does not start with one.
    case prefixSpace

    enum PrependScheme: String {
        case always, first, never
    }
}

/// The pre-tokenizer pipeline: zero or more splitting steps, then optionally GPT-2's byte-level
/// mapping, which must come last (every byte-level tokenizer in use has it last).
struct PreTokenizer {
    var steps: [PreTokenizerStep] = []
    /// Whether pieces are mapped to the byte-level alphabet before the model sees them.
    var byteLevel = false

    /// A piece of text: a slice of scalars (splitting shares storage; rewriting steps copy).
    typealias Piece = ArraySlice<Unicode.Scalar>

    /// Splits one segment of text (the text between added tokens). `isFirstSegment` says whether it
    /// starts the whole input (for Metaspace's `first` scheme).
    func pieces(of text: [Unicode.Scalar], isFirstSegment: Bool) -> [Piece] {
        var pieces: [Piece] = text.isEmpty ? [] : [text[...]]
        for step in steps {
            pieces = pieces.flatMap { apply(step, to: $0, isFirstSegment: isFirstSegment) }
        }
        return pieces
    }

    private func apply(_ step: PreTokenizerStep, to piece: Piece, isFirstSegment: Bool) -> [Piece] {
        switch step {
        case .split(let pattern, let behavior, let invert):
            return Self.split(piece, matches: pattern.matches(in: piece), behavior: behavior, invert: invert)
        case .digits(let individual):
            let digitRanges = Self.runs(in: piece) { ScalarClass($0) == .number }  // Rust `char::is_numeric`: \p{N}
            let matches = individual ? digitRanges.flatMap { range in range.map { $0..<($0 + 1) } } : digitRanges
            return Self.split(piece, matches: matches, behavior: .isolated, invert: false)
        case .metaspace(let replacement, let prepend, let split):
            var scalars = piece.map { $0 == " " ? replacement : $0 }
            let prepends = prepend == .always || (prepend == .first && isFirstSegment && piece.startIndex == 0)
            if prepends, scalars.first != replacement { scalars.insert(replacement, at: 0) }
            guard split else { return [scalars[...]] }
            let matches = scalars.indices.filter { scalars[$0] == replacement }.map { $0..<($0 + 1) }
            return Self.split(scalars[...], matches: matches, behavior: .mergedWithNext, invert: false)
        case .prefixSpace:
            return piece.first == " " ? [piece] : [([" "] + piece)[...]]
        }
    }

    /// Ranges (relative to `piece`) of maximal runs of scalars satisfying `predicate`.
    private static func runs(in piece: Piece, where predicate: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start: Int?
        for (offset, scalar) in piece.enumerated() {
            if predicate(scalar) {
                if start == nil { start = offset }
            } else if let begin = start {
                result.append(begin..<offset)
                start = nil
            }
        }
        if let begin = start { result.append(begin..<piece.count) }
        return result
    }

    /// Cuts `piece` at `matches` (ranges relative to the piece start, sorted, non-overlapping).
    static func split(_ piece: Piece, matches: [Range<Int>], behavior: SplitBehavior, invert: Bool) -> [Piece] {
        // The piece as alternating (range, isMatch) spans that tile it.
        var spans: [(Range<Int>, Bool)] = []
        var position = 0
        for match in matches where !match.isEmpty {
            if match.lowerBound > position { spans.append((position..<match.lowerBound, invert)) }
            spans.append((match, !invert))
            position = match.upperBound
        }
        if position < piece.count { spans.append((position..<piece.count, invert)) }

        // The folds below mirror HF's `NormalizedString::split` exactly, including how runs of
        // adjacent matches are treated.
        var ranges: [Range<Int>] = []
        var previousWasMatch = false
        func mergeIntoLast(_ range: Range<Int>) {
            let last = ranges[ranges.count - 1]
            ranges[ranges.count - 1] = min(last.lowerBound, range.lowerBound)..<max(last.upperBound, range.upperBound)
        }
        switch behavior {
        case .isolated:
            ranges = spans.map(\.0)
        case .removed:
            ranges = spans.filter { !$0.1 }.map(\.0)
        case .mergedWithPrevious, .contiguous:
            for (range, isMatch) in spans {
                let merges = behavior == .contiguous ? isMatch == previousWasMatch : isMatch && !previousWasMatch
                if merges, !ranges.isEmpty { mergeIntoLast(range) } else { ranges.append(range) }
                previousWasMatch = isMatch
            }
        case .mergedWithNext:
            for (range, isMatch) in spans.reversed() {
                if isMatch, !previousWasMatch, !ranges.isEmpty { mergeIntoLast(range) } else { ranges.append(range) }
                previousWasMatch = isMatch
            }
            ranges.reverse()
        }
        let base = piece.startIndex
        return ranges.map { piece[(base + $0.lowerBound)..<(base + $0.upperBound)] }
    }
}

extension PreTokenizer {
    /// Reads the `pre_tokenizer` component (`nil` when the field is null). Unsupported types, and
    /// steps after `ByteLevel`, are errors naming them.
    static func read(_ fields: JSONFields?) throws -> PreTokenizer {
        var result = PreTokenizer()
        if let fields { try result.append(fields) }
        return result
    }

    private mutating func append(_ fields: JSONFields) throws {
        let type = try fields.required("type", fields.string)
        if byteLevel {
            throw fields.error(
                "is a \(type) pre-tokenizer after ByteLevel; gputrain supports ByteLevel only as the last step")
        }
        switch type {
        case "Sequence":
            for step in try fields.required("pretokenizers", fields.objects) { try append(step) }
        case "ByteLevel":
            // HF's defaults: add_prefix_space true, use_regex true.
            if try fields.bool("add_prefix_space") ?? true { steps.append(.prefixSpace) }
            if try fields.bool("use_regex") ?? true { steps.append(.split(.gpt2, .isolated, invert: false)) }
            byteLevel = true
        case "Split":
            let pattern: SplitPattern
            switch try TextPattern.read(fields) {
            case .literal(let text): pattern = .literal(Array(text.unicodeScalars))
            case .regex(let source): pattern = try SplitPattern.regex(source) { fields.error("pattern", $0) }
            }
            let behaviorName = try fields.required("behavior", fields.string)
            guard let behavior = SplitBehavior(rawValue: behaviorName) else {
                throw fields.error(
                    "behavior",
                    "is '\(behaviorName)'; expected Isolated, Removed, MergedWithPrevious, MergedWithNext or Contiguous"
                )
            }
            steps.append(.split(pattern, behavior, invert: try fields.bool("invert") ?? false))
        case "Digits":
            steps.append(.digits(individual: try fields.bool("individual_digits") ?? false))
        case "Metaspace":
            let replacement = try fields.string("replacement") ?? "\u{2581}"
            guard replacement.unicodeScalars.count == 1, let scalar = replacement.unicodeScalars.first else {
                throw fields.error("replacement", "should be one character, found '\(replacement)'")
            }
            let schemeName =
                try fields.string("prepend_scheme")
                ?? ((try fields.bool("add_prefix_space") ?? true) ? "always" : "never")
            guard let scheme = PreTokenizerStep.PrependScheme(rawValue: schemeName) else {
                throw fields.error("prepend_scheme", "is '\(schemeName)'; expected always, first or never")
            }
            steps.append(.metaspace(replacement: scalar, prepend: scheme, split: try fields.bool("split") ?? true))
        default:
            throw fields.error(
                "has pre-tokenizer type '\(type)', which gputrain does not support (supported: ByteLevel, Split, Digits, Metaspace, Sequence)"
            )
        }
    }
}
