import Foundation

/// Where one tensor lives in a safetensors file and what it holds.
public struct SafetensorsTensorInfo: Equatable, Sendable {
    public var name: String
    public var dtype: SafetensorsDType
    /// PyTorch order, outermost first; `[]` is a scalar.
    public var shape: [Int]
    /// Byte range relative to the start of the data buffer (after the header), end exclusive.
    public var dataOffsets: Range<Int>

    /// The number of elements (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file (docs/formats.md §1), memory-mapped and fully validated when opened: reading a
/// tensor afterwards cannot fail on the file's layout.
public struct SafetensorsFile: @unchecked Sendable {
    /// Headers larger than this are rejected, as by the reference implementation.
    public static let maximumHeaderSize = 100_000_000

    /// The file name used in error messages.
    public let fileName: String
    /// The `__metadata__` block (string → string); empty when absent.
    public let metadata: [String: String]
    /// Every tensor, in file (offset) order.
    public let tensors: [SafetensorsTensorInfo]

    private let bytes: Data
    private let dataStart: Int
    private let byName: [String: Int]

    /// Opens and validates the file at `url`, memory-mapping it so tensors are read on demand.
    public init(contentsOf url: URL) throws {
        try self.init(data: Data(mappingFile: url), fileName: url.displayName)
    }

    /// Validates `data` as a complete safetensors file (docs/formats.md §1.4); `fileName` names it in errors.
    public init(data: Data, fileName: String) throws {
        let header = try SafetensorsHeader(file: data, fileName: fileName)
        self.fileName = fileName
        self.bytes = data
        self.dataStart = 8 + header.size
        self.metadata = header.metadata
        self.tensors = header.tensors
        self.byName = Dictionary(uniqueKeysWithValues: header.tensors.enumerated().map { ($1.name, $0) })
    }

    /// Tensor names in file order.
    public var names: [String] { tensors.map(\.name) }

    /// Whether the file holds a tensor called `name`.
    public func contains(_ name: String) -> Bool { byName[name] != nil }

    /// The description of tensor `name`.
    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let index = byName[name] else {
            throw FormatError(
                file: fileName, "has no tensor named '\(name)' (TensorNotFound); it holds \(tensors.count) tensors")
        }
        return tensors[index]
    }

    /// The raw little-endian bytes of tensor `name` (a slice of the mapped file, not a copy).
    public func rawData(_ name: String) throws -> Data {
        let info = try info(name)
        return bytes[
            (bytes.startIndex + dataStart + info.dataOffsets.lowerBound)..<(bytes.startIndex + dataStart
                + info.dataOffsets.upperBound)]
    }

    /// Tensor `name` widened to `Float` (from F32, F16, BF16 or F64), in row-major order.
    public func floats(_ name: String) throws -> [Float] {
        let info = try info(name)
        guard info.dtype.convertsToFloat else {
            throw FormatError(
                file: fileName,
                "tensor '\(name)' is \(info.dtype.rawValue); only F32, F16, BF16 and F64 tensors can be read as floats")
        }
        return TensorBytes.floats(from: try rawData(name), dtype: info.dtype, count: info.elementCount)
    }

    /// Tensor `name` as 64-bit integers (from I64, I32, U32, I16, U16, I8, U8 or BOOL), e.g. for
    /// position-id buffers.
    public func integers(_ name: String) throws -> [Int] {
        let info = try info(name)
        guard let values = TensorBytes.integers(from: try rawData(name), dtype: info.dtype, count: info.elementCount)
        else {
            throw FormatError(file: fileName, "tensor '\(name)' is \(info.dtype.rawValue), not an integer type")
        }
        return values
    }
}
