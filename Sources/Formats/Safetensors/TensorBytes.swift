import Foundation

/// Conversions between little-endian tensor bytes and Swift arrays.
public enum TensorBytes {
    /// `count` elements of `dtype` (a float type) in `data`, widened to `Float`.
    /// Precondition: `data` holds exactly `count` elements and `dtype.convertsToFloat`.
    public static func floats(from data: Data, dtype: SafetensorsDType, count: Int) -> [Float] {
        data.withUnsafeBytes { raw in
            switch dtype {
            case .f32:
                #if _endian(little)
                    // The file's layout is the host's: one copy, no per-element work.
                    return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                        UnsafeMutableRawBufferPointer(buffer).copyMemory(
                            from: UnsafeRawBufferPointer(rebasing: raw.prefix(4 * count)))
                        initialized = count
                    }
                #else
                    return (0..<count).map {
                        Float(
                            bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))
                        )
                    }
                #endif
            case .f64:
                return (0..<count).map {
                    Float(
                        Double(
                            bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))
                        ))
                }
            case .bf16: return (0..<count).map { HalfPrecision.float(fromBFloat16: halfBits(raw, $0)) }
            case .f16: return (0..<count).map { HalfPrecision.float(fromFloat16: halfBits(raw, $0)) }
            default: preconditionFailure("\(dtype.rawValue) does not convert to Float")
            }
        }
    }

    /// `count` elements of an integer (or BOOL) `dtype` in `data` as `Int`; `nil` for other types.
    public static func integers(from data: Data, dtype: SafetensorsDType, count: Int) -> [Int]? {
        data.withUnsafeBytes { raw -> [Int]? in
            func load<T: FixedWidthInteger>(_: T.Type) -> [Int] {
                (0..<count).map {
                    Int(T(littleEndian: raw.loadUnaligned(fromByteOffset: MemoryLayout<T>.size * $0, as: T.self)))
                }
            }
            switch dtype {
            case .bool, .u8: return load(UInt8.self)
            case .i8: return load(Int8.self)
            case .i16: return load(Int16.self)
            case .u16: return load(UInt16.self)
            case .i32: return load(Int32.self)
            case .u32: return load(UInt32.self)
            case .i64: return load(Int64.self)
            default: return nil
            }
        }
    }

    /// `values` narrowed to `dtype` (F32, F16, BF16 or F64) as little-endian bytes; narrowing
    /// rounds to nearest even.
    public static func bytes(of values: [Float], as dtype: SafetensorsDType) -> Data {
        precondition(dtype.convertsToFloat, "\(dtype.rawValue) is not a float type")
        #if _endian(little)
            // The host layout is the file's: one copy, no per-element work.
            if dtype == .f32 { return values.withUnsafeBytes { Data($0) } }
        #endif
        switch dtype {
        case .f32: return littleEndianBytes(values.map(\.bitPattern))
        case .f64: return littleEndianBytes(values.map { Double($0).bitPattern })
        case .bf16: return littleEndianBytes(values.map(HalfPrecision.bfloat16(from:)))
        case .f16: return littleEndianBytes(values.map(HalfPrecision.float16(from:)))
        default: return Data()
        }
    }

    /// The elements of `words` as little-endian bytes, converted as a whole array (appending
    /// element by element to `Data` costs more than the narrowing itself).
    private static func littleEndianBytes<T: FixedWidthInteger>(_ words: [T]) -> Data {
        words.map(\.littleEndian).withUnsafeBytes { Data($0) }
    }

    /// `values` as little-endian bytes of an integer `dtype` (values are truncated to its width).
    public static func bytes(of values: [Int], as dtype: SafetensorsDType) -> Data {
        var data = Data(capacity: values.count * max(1, dtype.bitsPerElement / 8))
        for value in values {
            switch dtype {
            case .bool, .u8, .i8: data.append(UInt8(truncatingIfNeeded: value))
            case .i16, .u16: append(UInt16(truncatingIfNeeded: value), to: &data)
            case .i32, .u32: append(UInt32(truncatingIfNeeded: value), to: &data)
            case .i64, .u64: append(UInt64(truncatingIfNeeded: value), to: &data)
            default: preconditionFailure("\(dtype.rawValue) is not an integer type")
            }
        }
        return data
    }

    @inline(__always)
    private static func halfBits(_ raw: UnsafeRawBufferPointer, _ index: Int) -> UInt16 {
        UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self))
    }

    @inline(__always)
    private static func append<T: FixedWidthInteger>(_ value: T, to data: inout Data) {
        withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
    }
}
