import Foundation

/// Reads GGUF fields from a byte buffer with bounds checks, so a truncated or corrupt file
/// gives an error that names what was being read and where, never a crash.
struct GGUFDecoder {
    let bytes: Data
    let fileName: String
    /// Offset from the start of the file.
    private(set) var position = 0

    init(bytes: Data, fileName: String) {
        self.bytes = bytes
        self.fileName = fileName
    }

    /// How deeply arrays may nest (the format allows nesting; real files never go past one level).
    static let maximumNesting = 8

    var remaining: Int { bytes.count - position }

    func error(_ message: String) -> FormatError { FormatError(file: fileName, message) }

    /// Throws unless `count` more bytes are there, saying what they were for.
    func require(_ count: Int, for what: String) throws {
        guard count <= remaining else {
            throw error(
                "is truncated: \(what) at byte \(position) needs \(count) bytes, but the file ends after \(remaining) more "
                    + "(\(bytes.count) bytes in all); the file was cut short or is not a complete GGUF file")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let size = MemoryLayout<T>.size
        try require(size, for: what())
        let value = bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: T.self)) }
        position += size
        return value
    }

    /// A u64 that must fit `Int` (counts, lengths, offsets).
    mutating func readCount(_ what: @autoclosure () -> String) throws -> Int {
        let value = try read(UInt64.self, what())
        guard let count = Int(exactly: value), count <= Int(Int64.max) else {
            throw error("\(what()) is \(value), larger than any file; the file is corrupt")
        }
        return count
    }

    /// A `gguf_string`: u64 length, then that many bytes of UTF-8.
    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let length = try readCount("the length of \(what())")
        try require(length, for: "\(what()) (\(length) bytes)")
        let start = bytes.startIndex + position
        guard let string = String(validating: bytes[start..<(start + length)], as: UTF8.self) else {
            throw error("\(what()) at byte \(position) is not valid UTF-8; GGUF strings are UTF-8")
        }
        position += length
        return string
    }

    /// A metadata value of `type` (its type code already read).
    mutating func readValue(_ type: GGUFValueType, _ what: String, depth: Int = 0) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, what))
        case .int8: return .int8(try read(Int8.self, what))
        case .uint16: return .uint16(try read(UInt16.self, what))
        case .int16: return .int16(try read(Int16.self, what))
        case .uint32: return .uint32(try read(UInt32.self, what))
        case .int32: return .int32(try read(Int32.self, what))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, what)))
        case .uint64: return .uint64(try read(UInt64.self, what))
        case .int64: return .int64(try read(Int64.self, what))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, what)))
        case .string: return .string(try readString(what))
        case .bool:
            let byte = try read(UInt8.self, what)
            guard byte <= 1 else { throw error("\(what) is a bool stored as \(byte); GGUF bools are 0 or 1") }
            return .bool(byte == 1)
        case .array:
            guard depth < Self.maximumNesting else {
                throw error("\(what) nests arrays more than \(Self.maximumNesting) deep")
            }
            let elementType = try readType("the element type of \(what)")
            let count = try readCount("the element count of \(what)")
            // Every element takes at least this many bytes, so a corrupt count fails here instead of
            // allocating without bound.
            let smallest = elementType.fixedSize ?? (elementType == .string ? 8 : 12)
            guard count <= remaining / smallest else {
                throw error(
                    "is truncated: \(what) claims \(count) elements of \(elementType), but only \(remaining) bytes remain"
                )
            }
            var elements: [GGUFValue] = []
            elements.reserveCapacity(count)
            for index in 0..<count {
                elements.append(try readValue(elementType, "\(what)[\(index)]", depth: depth + 1))
            }
            return .array(elementType: elementType, elements)
        }
    }

    /// A u32 value type code.
    mutating func readType(_ what: @autoclosure () -> String) throws -> GGUFValueType {
        let code = try read(UInt32.self, what())
        guard let type = GGUFValueType(rawValue: code) else {
            throw error("\(what()) is \(code), which is not a GGUF value type (0–12)")
        }
        return type
    }

    mutating func skip(to offset: Int) { position = offset }
}
