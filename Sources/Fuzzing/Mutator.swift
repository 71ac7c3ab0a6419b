import Foundation

/// Seeded mutations of byte strings, the kinds that break readers: flipped bits, interesting
/// bytes and numbers, inserted, deleted and repeated ranges, truncation, and splices of two
/// corpus files. The same seed gives the same inputs.
struct Mutator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// A random integer in 0..<bound (bound > 0).
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }

    private static let interestingBytes: [UInt8] = [
        0, 0xFF, 0x7F, 0x80, 0x0A, 0x0D, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x2C, 0x2D, 0x39, 0x30, 0x65, 0xC3,
    ]
    private static let interestingText = [
        "99999999999999999999999", "-1", "0", "1e309", "-9223372036854775808", "18446744073709551615", "NaN", "null",
        "\"\"", "[]", "{}", "true", "\\u0000", "\\ud800", "((((((((((a*)*)*)*)*)*)*)*)*)*", ": &a [*a, *a]",
    ]

    /// `input` changed by one to four mutations, some using `other` (another corpus file).
    mutating func mutate(_ input: [UInt8], other: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...next(4) {
            let position = bytes.isEmpty ? 0 : next(bytes.count)
            switch next(9) {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << next(8))
            case 1 where !bytes.isEmpty: bytes[position] = Self.interestingBytes[next(Self.interestingBytes.count)]
            case 2:
                let text = Array(Self.interestingText[next(Self.interestingText.count)].utf8)
                bytes.insert(contentsOf: text, at: position)
            case 3 where !bytes.isEmpty:
                bytes.removeSubrange(position..<min(bytes.count, position + 1 + next(64)))
            case 4 where !bytes.isEmpty:
                let range = position..<min(bytes.count, position + 1 + next(256))
                bytes.insert(contentsOf: bytes[range], at: next(bytes.count))
            case 5 where !bytes.isEmpty: bytes.removeSubrange(position...)
            case 6 where !other.isEmpty:
                let start = next(other.count)
                bytes = Array(bytes[..<position]) + other[start...]
            case 7 where bytes.count >= 8:
                // A little-endian field (sizes, counts) overwritten with an extreme value.
                let value = [UInt64.max, UInt64(Int.max), 1 << 40, 0, 1 << 31][next(5)]
                let at = next(bytes.count - 7)
                withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(at..<at + 8, with: $0) }
            default:
                bytes.insert(UInt8(next(256)), at: position)
            }
        }
        return bytes
    }
}
