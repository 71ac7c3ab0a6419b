import Foundation

/// A 64-bit FNV-1a checksum as 16 hex digits: enough to find a file that a crash, a full disk or
/// bit rot changed, or to know a text exactly (not a defence against tampering).
public enum Checksum {
    /// The checksum of the file at `url`, read in chunks.
    public static func of(file url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hash = offsetBasis
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { add(chunk, to: &hash) }
        return hex(hash)
    }

    /// The checksum of `text`'s UTF-8 bytes.
    public static func of(text: String) -> String {
        var hash = offsetBasis
        add(Data(text.utf8), to: &hash)
        return hex(hash)
    }

    private static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325

    private static func add(_ data: Data, to hash: inout UInt64) {
        data.withUnsafeBytes { bytes in
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        }
    }

    private static func hex(_ hash: UInt64) -> String { String(format: "%016llx", hash) }
}
