import Foundation

/// Little-endian GGUF encoding of header fields and metadata values (docs/formats.md §5.1).
struct GGUFEncoder {
    private(set) var data = Data()

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }

    /// A `gguf_string`: u64 byte length, then the UTF-8 bytes.
    mutating func append(string: String) {
        let bytes = Array(string.utf8)
        append(UInt64(bytes.count))
        data.append(contentsOf: bytes)
    }

    /// The value's bytes without its type code (the caller writes that).
    mutating func append(value: GGUFValue) {
        switch value {
        case .uint8(let value): append(value)
        case .int8(let value): append(value)
        case .uint16(let value): append(value)
        case .int16(let value): append(value)
        case .uint32(let value): append(value)
        case .int32(let value): append(value)
        case .float32(let value): append(value.bitPattern)
        case .bool(let value): append(UInt8(value ? 1 : 0))
        case .string(let value): append(string: value)
        case .array(let elementType, let elements):
            append(elementType.rawValue)
            append(UInt64(elements.count))
            // Nested arrays are written as their element type, count and elements, like any array.
            for element in elements { append(value: element) }
        case .uint64(let value): append(value)
        case .int64(let value): append(value)
        case .float64(let value): append(value.bitPattern)
        }
    }

    /// Zero bytes up to the next multiple of `alignment` (counted from the start of `data`).
    mutating func pad(to alignment: Int) {
        data.append(contentsOf: repeatElement(0, count: GGUFLayout.padding(data.count, alignment)))
    }
}

/// Alignment arithmetic shared by the writer and the reader.
enum GGUFLayout {
    /// The default and recommended alignment of tensor data.
    static let defaultAlignment = 32
    /// `GGML_MAX_NAME`: tensor names must be shorter.
    static let maximumTensorNameBytes = 64
    /// `GGML_MAX_DIMS`.
    static let maximumDimensions = 4
    /// Keys must be shorter (docs/formats.md §5.1).
    static let maximumKeyBytes = 65536

    /// Bytes of zero padding after `offset` to reach a multiple of `alignment`.
    static func padding(_ offset: Int, _ alignment: Int) -> Int { (alignment - offset % alignment) % alignment }

    /// `offset` rounded up to a multiple of `alignment`.
    static func aligned(_ offset: Int, _ alignment: Int) -> Int { offset + padding(offset, alignment) }
}
