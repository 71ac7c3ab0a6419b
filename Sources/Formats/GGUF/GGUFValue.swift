/// The value types of GGUF metadata (docs/formats.md §5.1), with their on-disk codes.
public enum GGUFValueType: UInt32, CaseIterable, Sendable {
    case uint8 = 0
    case int8 = 1
    case uint16 = 2
    case int16 = 3
    case uint32 = 4
    case int32 = 5
    case float32 = 6
    /// One byte, 0 or 1.
    case bool = 7
    /// u64 byte length, then UTF-8 bytes (no terminator).
    case string = 8
    /// Element type (u32), count (u64), then the elements; arrays may nest.
    case array = 9
    case uint64 = 10
    case int64 = 11
    case float64 = 12

    /// Bytes per value for the fixed-size types; `nil` for strings and arrays.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }
}

/// One GGUF metadata value. llama.cpp reads hyperparameters with strict types, so the case chosen
/// is part of the format (u32 for counts, f32 for epsilons; docs/formats.md §5.3, §8.2).
public indirect enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    /// Elements that all have type `elementType` (checked when written or read).
    case array(elementType: GGUFValueType, [GGUFValue])
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    /// The value's type code.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// An array of strings.
    public static func strings(_ values: [String]) -> GGUFValue {
        .array(elementType: .string, values.map { .string($0) })
    }
    /// An array of i32 (token types).
    public static func int32s(_ values: [Int32]) -> GGUFValue { .array(elementType: .int32, values.map { .int32($0) }) }
    /// An array of f32 (token scores).
    public static func float32s(_ values: [Float]) -> GGUFValue {
        .array(elementType: .float32, values.map { .float32($0) })
    }

    /// The string, for `.string`.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value of any integer case as `Int` (readers accept either width, docs/formats.md §8.2);
    /// `nil` for other cases or a u64 beyond `Int.max`.
    public var integerValue: Int? {
        switch self {
        case .uint8(let value): return Int(value)
        case .int8(let value): return Int(value)
        case .uint16(let value): return Int(value)
        case .int16(let value): return Int(value)
        case .uint32(let value): return Int(value)
        case .int32(let value): return Int(value)
        case .uint64(let value): return Int(exactly: value)
        case .int64(let value): return Int(value)
        default: return nil
        }
    }

    /// The value of `.float32` or `.float64`.
    public var floatingValue: Double? {
        switch self {
        case .float32(let value): return Double(value)
        case .float64(let value): return value
        default: return nil
        }
    }

    /// The value of `.bool`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements of `.array`.
    public var arrayValue: [GGUFValue]? {
        if case .array(_, let values) = self { return values }
        return nil
    }

    /// The elements of an array of strings.
    public var stringArray: [String]? {
        guard case .array(.string, let values) = self else { return nil }
        return values.compactMap(\.stringValue)
    }
}
