/// The character classes the pre-tokenizer regexes distinguish (docs/formats.md §2.4), one per scalar:
/// `\p{L}`, `\p{N}`, `\s` (with the literal space and `\r`/`\n` singled out) and everything else.
enum ScalarClass: UInt8 {
    case letter
    case number
    /// U+0020, the only character ` ?` matches.
    case space
    /// `\r` or `\n`.
    case newline
    /// Any other `\s` character (Unicode White_Space, as Oniguruma and ICU define `\s`).
    case whitespace
    case other

    var isWhitespace: Bool { self == .space || self == .newline || self == .whitespace }

    init(_ scalar: Unicode.Scalar) {
        if scalar.value < 0x80 {
            self = Self.ascii[Int(scalar.value)]
            return
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = scalar.properties.isWhitespace ? .whitespace : .other
        }
    }

    private static let ascii: [ScalarClass] = (0..<128).map { value in
        switch UInt8(value) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return .letter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case 0x20: return .space
        case 0x0A, 0x0D: return .newline
        case 0x09, 0x0B, 0x0C: return .whitespace
        default: return .other
        }
    }
}
