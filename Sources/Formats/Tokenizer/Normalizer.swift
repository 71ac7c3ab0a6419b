import Foundation

/// A `tokenizer.json` normalizer: rewrites text before pre-tokenization (docs/formats.md §2.1, §2.9).
indirect enum Normalizer {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    /// Prepends a string to non-empty text (SentencePiece's `▁`).
    case prepend(String)
    /// Replaces every match of a pattern (a literal string is compiled as an escaped regex) with
    /// literal text.
    /// (`growth`: the most it multiplies a text's length by.)
    case replace(NSRegularExpression, String, growth: Int)
    case sequence([Normalizer])

    func apply(_ text: String) -> String {
        switch self {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return text.lowercased()
        case .prepend(let prefix): return text.isEmpty ? text : prefix + text
        case .replace(let expression, let content, _):
            return expression.stringByReplacingMatches(
                in: text, range: NSRange(text.startIndex..., in: text),
                withTemplate: NSRegularExpression.escapedTemplate(for: content))
        case .sequence(let steps): return steps.reduce(text) { $1.apply($0) }
        }
    }

    /// Reads a normalizer object; unsupported types are an error naming the type, and one that
    /// could multiply a text's length by more than `PatternSafety.maxGrowth` is refused.
    static func read(_ fields: JSONFields) throws -> Normalizer {
        let normalizer = try readAny(fields)
        guard normalizer.growth <= PatternSafety.maxGrowth else {
            throw fields.error(
                "its Replace rules can multiply a text's length by \(normalizer.growth) (at most \(PatternSafety.maxGrowth))"
            )
        }
        return normalizer
    }

    /// The most this normalizer multiplies a text's length by: each Replace by its content's
    /// length over its pattern's shortest match (one character for a regex), in sequence.
    var growth: Int {
        switch self {
        case .replace(_, _, let growth): return growth
        case .sequence(let steps):
            return steps.reduce(1) { min($0.multipliedReportingOverflow(by: $1.growth).partialValue, Int(Int32.max)) }
        case .prepend: return 2
        default: return 1
        }
    }

    private static func readAny(_ fields: JSONFields) throws -> Normalizer {
        let type = try fields.required("type", fields.string)
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Prepend": return .prepend(try fields.required("prepend", fields.string))
        case "Replace":
            let pattern = try TextPattern.read(fields)
            let expression = try pattern.compiled(fields)
            let content = try fields.required("content", fields.string)
            guard expression.firstMatch(in: "", range: NSRange(location: 0, length: 0)) == nil else {
                throw fields.error(
                    "pattern", "matches the empty string, so Replace would insert its content everywhere")
            }
            // A literal's matches are as long as it; a regex's may be one character.
            let shortest: Int
            if case .literal(let text) = pattern { shortest = max(1, text.count) } else { shortest = 1 }
            return .replace(expression, content, growth: max(1, (content.count + shortest - 1) / shortest))
        case "Sequence": return .sequence(try fields.required("normalizers", fields.objects).map(readAny))
        default:
            throw fields.error(
                "has normalizer type '\(type)', which gputrain does not support (supported: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Sequence)"
            )
        }
    }
}

/// The `pattern` of `Split` and `Replace` components: `{"String": …}` (literal) or `{"Regex": …}`.
enum TextPattern {
    case literal(String)
    case regex(String)

    static func read(_ fields: JSONFields) throws -> TextPattern {
        let pattern = try fields.required("pattern", fields.object)
        if let literal = try pattern.string("String") { return .literal(literal) }
        if let regex = try pattern.string("Regex") { return .regex(regex) }
        throw pattern.error("should hold a \"String\" or a \"Regex\"")
    }

    /// The pattern as a regular expression (a literal is escaped).
    func compiled(_ fields: JSONFields) throws -> NSRegularExpression {
        let source: String
        switch self {
        case .literal(let text): source = NSRegularExpression.escapedPattern(for: text)
        case .regex(let pattern): source = pattern
        }
        do {
            return try NSRegularExpression(pattern: source)
        } catch {
            throw fields.error("pattern", "does not compile as a regular expression: \(source)")
        }
    }
}
