import Foundation

/// A 64-bit FNV-1a checksum of a file's bytes, as 16 hex digits: enough to find a file that a
/// crash, a full disk or bit rot changed (not a defence against tampering).
public enum FileChecksum {
    /// The checksum of the file at `url`, read in chunks.
    public static func of(_ url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { bytes in
                for byte in bytes {
                    hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
                }
            }
        }
        return String(format: "%016llx", hash)
    }
}
