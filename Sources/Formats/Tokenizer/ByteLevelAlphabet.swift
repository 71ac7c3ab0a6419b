/// GPT-2's reversible map from the 256 byte values to 256 printable Unicode characters, used by
/// every byte-level BPE (docs/formats.md §2.3): vocab and merge strings are written in this alphabet.
public enum ByteLevelAlphabet {
    /// `scalars[b]` is the character byte `b` maps to.
    public static let scalars: [Unicode.Scalar] = {
        // Printable Latin-1 bytes keep their own code point; the 68 others take U+0100 onwards in byte order.
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        for byte in printable { table[byte] = Unicode.Scalar(UInt32(byte))! }
        var next: UInt32 = 256
        for byte in 0..<256 where !printable.contains(byte) {
            table[byte] = Unicode.Scalar(next)!
            next += 1
        }
        return table
    }()

    /// The inverse map: character → byte.
    public static let bytes: [Unicode.Scalar: UInt8] = {
        Dictionary(uniqueKeysWithValues: scalars.enumerated().map { ($1, UInt8($0)) })
    }()

    /// `text`'s UTF-8 bytes, each written as its alphabet character.
    public static func encode(_ text: Substring.UTF8View) -> String {
        var result = String.UnicodeScalarView()
        for byte in text { result.append(scalars[Int(byte)]) }
        return String(result)
    }

    /// `text`'s UTF-8 bytes, each written as its alphabet character.
    public static func encode(_ text: String) -> String { encode(text[...].utf8) }

    /// The bytes a token string stands for: each character mapped back to its byte; a token with
    /// a character outside the alphabet contributes its raw UTF-8 instead (as HF's decoder does).
    public static func decodeBytes(_ token: String, into bytes: inout [UInt8]) {
        let start = bytes.count
        for scalar in token.unicodeScalars {
            guard let byte = Self.bytes[scalar] else {
                bytes.removeSubrange(start...)
                bytes.append(contentsOf: token.utf8)
                return
            }
            bytes.append(byte)
        }
    }
}
