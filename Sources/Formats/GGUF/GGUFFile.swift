import Foundation

/// Where one tensor lives in a GGUF file and what it holds.
public struct GGUFTensorInfo: Equatable, Sendable {
    public var name: String
    /// ggml order: fastest-varying dimension first.
    public var dimensions: [Int]
    public var type: GGMLType
    /// Offset from the start of the data section (a multiple of the alignment).
    public var offset: Int

    /// The shape in PyTorch order (outermost first): the dimensions reversed.
    public var shape: [Int] { dimensions.reversed() }

    /// The number of elements.
    public var elementCount: Int { dimensions.reduce(1, *) }

    /// The number of data bytes.
    public var byteCount: Int { type.byteCount(elements: elementCount) }
}

/// A GGUF file (docs/formats.md §5), memory-mapped and validated when opened against every structural
/// rule ggml's reader enforces: magic and version, counts that fit the file, UTF-8 strings, known
/// value types, 0/1 bools, unique keys, `general.alignment` a u32 power of two, unique tensor names
/// under 64 bytes, 1–4 dimensions, known ggml types with whole blocks per row, and tensor data
/// that starts aligned after the header and is packed in tensor-info order (each offset exactly
/// the previous tensor's end rounded up to the alignment: no gaps, overlaps or reordering) inside
/// the file.
public struct GGUFFile: @unchecked Sendable {
    /// The versions this reader accepts (2 and 3 share the layout; version 1 had 32-bit counts).
    public static let supportedVersions: ClosedRange<UInt32> = 2...3

    /// The file name used in error messages.
    public let fileName: String
    public let version: UInt32
    public let metadata: GGUFMetadata
    /// The tensors in tensor-info order (which is also data order).
    public let tensors: [GGUFTensorInfo]
    /// The data alignment (`general.alignment`, default 32).
    public let alignment: Int
    /// Offset of the data section from the start of the file.
    public let dataStart: Int

    private let bytes: Data
    private let byName: [String: Int]

    /// Opens and validates the file at `url`, memory-mapping it.
    public init(contentsOf url: URL) throws {
        try self.init(data: Data(mappingFile: url), fileName: url.displayName)
    }

    /// Validates `data` as a complete GGUF file; `fileName` names it in errors.
    public init(data: Data, fileName: String) throws {
        var decoder = GGUFDecoder(bytes: data, fileName: fileName)
        try Self.readMagic(&decoder)
        let version = try decoder.read(UInt32.self, "the version")
        guard Self.supportedVersions.contains(version) else {
            throw decoder.error("is GGUF version \(version); this reader supports versions 2 and 3 (gputrain writes 3)")
        }
        let tensorCount = try decoder.readCount("the tensor count")
        let keyCount = try decoder.readCount("the metadata key count")
        // A key takes at least 8 (length) + 1 + 4 (type) + 1 bytes, a tensor info at least 8 + 1 + 4 + 8 + 4 + 8.
        guard keyCount <= decoder.remaining / 14, tensorCount <= decoder.remaining / 33 else {
            throw decoder.error(
                "is truncated or corrupt: it claims \(keyCount) metadata keys and \(tensorCount) tensors, "
                    + "more than its \(data.count) bytes can hold")
        }
        let metadata = try Self.readMetadata(&decoder, count: keyCount)
        let alignment = try Self.alignment(of: metadata, decoder)
        let tensors = try Self.readTensorInfos(&decoder, count: tensorCount)
        let dataStart = GGUFLayout.aligned(decoder.position, alignment)
        try Self.checkLayout(tensors, alignment: alignment, dataStart: dataStart, fileSize: data.count, decoder)

        self.fileName = fileName
        self.version = version
        self.metadata = metadata
        self.tensors = tensors
        self.alignment = alignment
        self.dataStart = dataStart
        self.bytes = data
        self.byName = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    // MARK: Access

    /// The value of metadata `key`, `nil` when absent.
    public subscript(key: String) -> GGUFValue? { metadata[key] }

    /// Tensor names in file order.
    public var names: [String] { tensors.map(\.name) }

    /// The description of tensor `name`.
    public func tensor(_ name: String) throws -> GGUFTensorInfo {
        guard let index = byName[name] else {
            throw FormatError(file: fileName, "has no tensor named '\(name)'; it holds \(tensors.count) tensors")
        }
        return tensors[index]
    }

    /// The raw bytes of tensor `name` (a slice of the mapped file).
    public func rawData(_ name: String) throws -> Data {
        let info = try tensor(name)
        let start = bytes.startIndex + dataStart + info.offset
        return bytes[start..<(start + info.byteCount)]
    }

    /// Tensor `name` widened to `Float` (from F32, F16 or BF16), in row-major PyTorch order.
    public func floats(_ name: String) throws -> [Float] {
        let info = try tensor(name)
        guard let dtype = GGUFTensor.floatStorage[info.type] else {
            throw FormatError(
                file: fileName, "tensor '\(name)' is \(info.type); only F32, F16 and BF16 tensors can be read as floats"
            )
        }
        return TensorBytes.floats(from: try rawData(name), dtype: dtype, count: info.elementCount)
    }

    // MARK: Parsing

    private static func readMagic(_ decoder: inout GGUFDecoder) throws {
        let magic = Array("GGUF".utf8)
        guard decoder.remaining >= 4 else {
            throw decoder.error(
                "is too short to be a GGUF file (\(decoder.remaining) bytes; a GGUF file starts with the 4 bytes 'GGUF')"
            )
        }
        let found = (0..<4).map { decoder.bytes[decoder.bytes.startIndex + $0] }
        guard found == magic else {
            let shown = found.map { (32..<127).contains($0) ? String(UnicodeScalar($0)) : "?" }.joined()
            throw decoder.error("does not start with the GGUF magic 'GGUF' (found '\(shown)'); it is not a GGUF file")
        }
        decoder.skip(to: 4)
    }

    private static func readMetadata(_ decoder: inout GGUFDecoder, count: Int) throws -> GGUFMetadata {
        var metadata = GGUFMetadata()
        for index in 0..<count {
            let key = try decoder.readString("metadata key \(index)")
            guard !key.isEmpty, key.utf8.count < GGUFLayout.maximumKeyBytes, key.unicodeScalars.allSatisfy(\.isASCII)
            else {
                throw decoder.error(
                    "metadata key \(index) ('\(key.prefix(80))') must be non-empty ASCII under 65536 bytes")
            }
            guard !metadata.contains(key) else {
                throw decoder.error(
                    "metadata key '\(key)' appears twice; GGUF keys must be unique (ggml refuses the file)")
            }
            let type = try decoder.readType("the value type of '\(key)'")
            metadata[key] = try decoder.readValue(type, "the value of '\(key)'")
        }
        return metadata
    }

    private static func alignment(of metadata: GGUFMetadata, _ decoder: GGUFDecoder) throws -> Int {
        guard let value = metadata["general.alignment"] else { return GGUFLayout.defaultAlignment }
        guard case .uint32(let alignment) = value else {
            throw decoder.error("general.alignment is \(value.type); ggml requires a u32")
        }
        guard alignment > 0, alignment & (alignment - 1) == 0 else {
            throw decoder.error("general.alignment is \(alignment); it must be a non-zero power of two")
        }
        return Int(alignment)
    }

    private static func readTensorInfos(_ decoder: inout GGUFDecoder, count: Int) throws -> [GGUFTensorInfo] {
        var tensors: [GGUFTensorInfo] = []
        var names = Set<String>()
        for index in 0..<count {
            let name = try decoder.readString("the name of tensor \(index)")
            func fail(_ message: String) -> FormatError {
                decoder.error("tensor '\(name)' (number \(index)) \(message)")
            }
            guard !name.isEmpty, name.utf8.count < GGUFLayout.maximumTensorNameBytes else {
                throw fail(
                    "has a \(name.utf8.count)-byte name; names must have 1 to \(GGUFLayout.maximumTensorNameBytes - 1) bytes (GGML_MAX_NAME)"
                )
            }
            guard names.insert(name).inserted else { throw fail("appears twice; tensor names must be unique") }
            let dimensionCount = try decoder.read(UInt32.self, "the dimension count of '\(name)'")
            guard (1...UInt32(GGUFLayout.maximumDimensions)).contains(dimensionCount) else {
                throw fail("has \(dimensionCount) dimensions; ggml allows 1 to \(GGUFLayout.maximumDimensions)")
            }
            var dimensions: [Int] = []
            var elements = 1
            for axis in 0..<Int(dimensionCount) {
                let dimension = try decoder.readCount("dimension \(axis) of '\(name)'")
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw fail("has dimensions whose product overflows 64 bits") }
                elements = product
                dimensions.append(dimension)
            }
            let typeID = try decoder.read(UInt32.self, "the type of '\(name)'")
            guard let type = GGMLType(rawValue: typeID) else {
                throw fail(
                    "has ggml type \(typeID), which ggml does not define (known: \(GGMLType.known.map(\.name).joined(separator: ", ")))"
                )
            }
            guard dimensions[0] % type.blockSize == 0 else {
                throw fail(
                    "has rows of \(dimensions[0]) elements, not a whole number of \(type.name) blocks of \(type.blockSize)"
                )
            }
            guard elements / type.blockSize <= Int.max / type.typeSize else { throw fail("is too large to address") }
            let offset = try decoder.readCount("the data offset of '\(name)'")
            tensors.append(GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: offset))
        }
        return tensors
    }

    /// Offsets aligned, packed in order (ggml requires each to be exactly the running padded
    /// size), and every tensor inside the file.
    private static func checkLayout(
        _ tensors: [GGUFTensorInfo], alignment: Int, dataStart: Int, fileSize: Int, _ decoder: GGUFDecoder
    ) throws {
        var expected = 0
        var previous: GGUFTensorInfo?
        for tensor in tensors {
            func fail(_ message: String) -> FormatError { decoder.error("tensor '\(tensor.name)' \(message)") }
            guard tensor.offset % alignment == 0 else {
                throw fail(
                    "starts at data offset \(tensor.offset), which is not a multiple of the alignment \(alignment)")
            }
            if tensor.offset < expected, let previous {
                throw fail(
                    "starts at data offset \(tensor.offset), inside tensor '\(previous.name)' (which ends at \(expected) "
                        + "after padding); tensors must not overlap")
            }
            guard tensor.offset == expected else {
                throw fail(
                    "starts at data offset \(tensor.offset), but the tensors before it end at \(expected) (padded to \(alignment)); "
                        + "ggml requires tensor data packed in tensor-info order with no gaps")
            }
            let end = dataStart + tensor.offset + tensor.byteCount
            guard end <= fileSize else {
                throw fail(
                    "needs bytes \(dataStart + tensor.offset)..<\(end), but the file has only \(fileSize) bytes; the file is truncated"
                )
            }
            expected = GGUFLayout.aligned(tensor.offset + tensor.byteCount, alignment)
            previous = tensor
        }
        if !tensors.isEmpty, dataStart > fileSize {
            throw decoder.error(
                "is truncated: the data section should start at byte \(dataStart), past the end of the file (\(fileSize) bytes)"
            )
        }
    }
}
