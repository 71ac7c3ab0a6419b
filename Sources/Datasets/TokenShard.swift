import Formats
import Foundation

/// A binary file of token ids: the form `gputrain data prepare` writes and training reads.
///
/// Layout (little-endian): a 32-byte header — magic `GTOK`, version (u32, 1), token width in
/// bytes (u32: 2 when every id fits in 16 bits, else 4), reserved (u32, 0), token count
/// (u64), 8 reserved zero bytes — followed by the tokens. Documents inside a shard are
/// separated by the end-of-text token.
public struct TokenShard {
    public static let magic: [UInt8] = Array("GTOK".utf8)
    public static let version: UInt32 = 1
    public static let headerSize = 32

    /// The file it was read from.
    public let url: URL
    /// Bytes per token (2 or 4).
    public let tokenWidth: Int
    /// Number of tokens.
    public let count: Int
    private let data: Data

    /// Memory-maps and checks a shard; every defect is an error naming the file and the fix.
    public init(contentsOf url: URL) throws {
        self.url = url
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw DatasetError.file(url.path, "token shard is missing; run `gputrain data prepare` again")
        }
        data = try Data(contentsOf: url, options: .alwaysMapped)
        guard data.count >= Self.headerSize, Array(data.prefix(4)) == Self.magic else {
            throw DatasetError.file(url.path, "not a gputrain token shard (bad magic or shorter than its header)")
        }
        let version = data.readLittleEndian(UInt32.self, at: 4)
        guard version == Self.version else {
            throw DatasetError.file(
                url.path, "token shard version \(version) is not supported (expected \(Self.version))")
        }
        tokenWidth = Int(data.readLittleEndian(UInt32.self, at: 8))
        guard tokenWidth == 2 || tokenWidth == 4 else {
            throw DatasetError.file(url.path, "token width \(tokenWidth) must be 2 or 4")
        }
        // Compared with what the file holds before any arithmetic on it: a corrupt count may be
        // any 64-bit value.
        let stated = data.readLittleEndian(UInt64.self, at: 16)
        let held = data.count - Self.headerSize
        guard held % tokenWidth == 0, stated == UInt64(held / tokenWidth) else {
            throw DatasetError.file(
                url.path,
                "truncated or corrupt token shard: header says \(stated) tokens of \(tokenWidth) bytes, "
                    + "file has \(held) bytes after its header; run `gputrain data prepare` again")
        }
        count = Int(stated)
    }

    /// Token `index`.
    public subscript(index: Int) -> Int32 {
        let offset = Self.headerSize + index * tokenWidth
        return tokenWidth == 2
            ? Int32(data.readLittleEndian(UInt16.self, at: offset))
            : Int32(bitPattern: data.readLittleEndian(UInt32.self, at: offset))
    }

    /// Writes `tokens` as a shard at `url` (temporary name, then rename), using 16-bit ids
    /// when every id is below 65,536.
    public static func write(_ tokens: [Int32], to url: URL) throws {
        let width = tokens.allSatisfy { $0 >= 0 && $0 < 65_536 } ? 2 : 4
        var data = Data(capacity: headerSize + tokens.count * width)
        data.append(contentsOf: magic)
        data.appendLittleEndian(version)
        data.appendLittleEndian(UInt32(width))
        data.appendLittleEndian(UInt32(0))
        data.appendLittleEndian(UInt64(tokens.count))
        data.appendLittleEndian(UInt64(0))
        for token in tokens {
            if width == 2 {
                data.appendLittleEndian(UInt16(token))
            } else {
                data.appendLittleEndian(UInt32(bitPattern: token))
            }
        }
        try AtomicFile.write(data, to: url)
    }
}

/// Errors in dataset files, naming the file (and line, where there is one) and the fix.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case file(String, String)
    case line(String, Int, String)

    public var description: String {
        switch self {
        case .file(let path, let message): return "\(path): \(message)"
        case .line(let path, let line, let message): return "\(path):\(line): \(message)"
        }
    }
}

extension Data {
    func readLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        T(littleEndian: withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) })
    }

    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
