import Foundation

/// One tensor to write into a GGUF file. Its bytes are produced only when the file is written,
/// one tensor at a time, so a large model is never held twice in memory.
public struct GGUFTensor {
    /// The tensor name (`blk.0.attn_q.weight`); under 64 bytes.
    public var name: String
    /// The shape in ggml order, fastest-varying dimension first (a PyTorch `[out, in]` weight is
    /// `[in, out]`; docs/formats.md §5.2).
    public var dimensions: [Int]
    public var type: GGMLType
    /// Produces the little-endian element bytes, exactly `byteCount` of them.
    public var bytes: () throws -> Data

    /// A tensor whose bytes come from `bytes` when written.
    public init(name: String, dimensions: [Int], type: GGMLType, bytes: @escaping () throws -> Data) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.bytes = bytes
    }

    /// A float tensor stored as `type` (F32, F16 or BF16; the narrow types round to nearest even).
    /// `floats` produces the values in row-major order of the PyTorch shape, which is the ggml
    /// layout of `dimensions`.
    public init(name: String, dimensions: [Int], type: GGMLType = .f32, floats: @escaping () throws -> [Float]) {
        self.init(name: name, dimensions: dimensions, type: type) {
            guard let dtype = GGUFTensor.floatStorage[type] else {
                throw FormatError(file: name, "cannot store floats as \(type); only F32, F16 and BF16 are written")
            }
            return TensorBytes.bytes(of: try floats(), as: dtype)
        }
    }

    /// The safetensors element type with the same bytes as each float ggml type.
    static let floatStorage: [GGMLType: SafetensorsDType] = [.f32: .f32, .f16: .f16, .bf16: .bf16]

    /// The number of elements (product of the dimensions).
    public var elementCount: Int { dimensions.reduce(1, *) }

    /// The number of data bytes.
    public var byteCount: Int { type.byteCount(elements: elementCount) }
}

/// Writes GGUF version 3 files (docs/formats.md §5.1–5.3): header, metadata in the given order, tensor
/// infos in the given order with offsets packed at the file's alignment, then the data, each tensor
/// padded with zeros to the alignment. Everything ggml's reader checks is checked before the first
/// byte is written.
public struct GGUFWriter {
    /// The metadata, written in order. `general.alignment`, when present, must be a u32 power of
    /// two and sets the alignment; without it the alignment is 32.
    public var metadata: GGUFMetadata
    /// The tensors, written in order.
    public var tensors: [GGUFTensor]

    /// A writer for `metadata` and `tensors`.
    public init(metadata: GGUFMetadata, tensors: [GGUFTensor]) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The GGUF version written.
    public static let version: UInt32 = 3

    /// Writes the file to `url` atomically, producing and writing one tensor at a time.
    public func write(to url: URL) throws {
        let header = try headerData(fileName: url.displayName)
        try AtomicFile.write(
            to: url,
            streaming: { emit in
                try emit(header)
                try forEachTensorData(fileName: url.displayName, emit)
            })
    }

    /// The whole file in memory (for small files and tests).
    public func fileData() throws -> Data {
        var file = try headerData(fileName: "GGUF")
        try forEachTensorData(fileName: "GGUF") { file.append($0) }
        return file
    }

    private func forEachTensorData(fileName: String, _ emit: (Data) throws -> Void) throws {
        let alignment = try self.alignment(fileName: fileName)
        for tensor in tensors {
            let bytes = try tensor.bytes()
            guard bytes.count == tensor.byteCount else {
                throw FormatError(
                    file: fileName,
                    "cannot write tensor '\(tensor.name)': \(tensor.type) \(tensor.dimensions) needs "
                        + "\(tensor.byteCount) bytes but \(bytes.count) were produced")
            }
            try emit(bytes)
            let padding = GGUFLayout.padding(bytes.count, alignment)
            if padding > 0 { try emit(Data(count: padding)) }
        }
    }

    /// Magic, version, counts, metadata and tensor infos, padded to the alignment.
    func headerData(fileName: String) throws -> Data {
        let alignment = try self.alignment(fileName: fileName)
        try validateTensors(fileName: fileName)
        var encoder = GGUFEncoder()
        encoder.append(UInt32(0x4655_4747))  // the bytes "GGUF" as a little-endian u32
        encoder.append(Self.version)
        encoder.append(UInt64(tensors.count))
        encoder.append(UInt64(metadata.count))
        for entry in metadata {
            try Self.validate(key: entry.key, value: entry.value, fileName: fileName)
            encoder.append(string: entry.key)
            encoder.append(entry.value.type.rawValue)
            encoder.append(value: entry.value)
        }
        var offset = 0
        for tensor in tensors {
            encoder.append(string: tensor.name)
            encoder.append(UInt32(tensor.dimensions.count))
            for dimension in tensor.dimensions { encoder.append(UInt64(dimension)) }
            encoder.append(tensor.type.rawValue)
            encoder.append(UInt64(offset))
            offset = GGUFLayout.aligned(offset + tensor.byteCount, alignment)
        }
        encoder.pad(to: alignment)
        return encoder.data
    }

    private func alignment(fileName: String) throws -> Int {
        guard let value = metadata["general.alignment"] else { return GGUFLayout.defaultAlignment }
        guard case .uint32(let alignment) = value, alignment > 0, alignment & (alignment - 1) == 0 else {
            throw FormatError(
                file: fileName,
                "cannot write: general.alignment must be a u32 power of two (ggml rejects anything else), found \(value)"
            )
        }
        return Int(alignment)
    }

    private func validateTensors(fileName: String) throws {
        var names = Set<String>()
        for tensor in tensors {
            func fail(_ message: String) -> FormatError {
                FormatError(file: fileName, "cannot write tensor '\(tensor.name)': \(message)")
            }
            guard !tensor.name.isEmpty, tensor.name.utf8.count < GGUFLayout.maximumTensorNameBytes else {
                throw fail("the name must have 1 to \(GGUFLayout.maximumTensorNameBytes - 1) bytes (GGML_MAX_NAME)")
            }
            guard names.insert(tensor.name).inserted else { throw fail("the name appears twice") }
            guard (1...GGUFLayout.maximumDimensions).contains(tensor.dimensions.count) else {
                throw fail(
                    "it has \(tensor.dimensions.count) dimensions; ggml allows 1 to \(GGUFLayout.maximumDimensions)")
            }
            guard tensor.dimensions.allSatisfy({ $0 >= 0 }) else {
                throw fail("dimensions \(tensor.dimensions) include a negative one")
            }
            let (_, overflow) = tensor.dimensions.reduce((1, false)) { partial, dimension in
                let (product, overflow) = partial.0.multipliedReportingOverflow(by: dimension)
                return (product, partial.1 || overflow)
            }
            guard !overflow else { throw fail("dimensions \(tensor.dimensions) overflow the element count") }
            guard tensor.dimensions[0] % tensor.type.blockSize == 0 else {
                throw fail(
                    "rows of \(tensor.dimensions[0]) elements are not whole blocks of \(tensor.type.blockSize) for \(tensor.type)"
                )
            }
        }
    }

    /// Keys: non-empty ASCII, dot-separated segments, under 64 KiB; arrays: not nested, every
    /// element of the declared type.
    static func validate(key: String, value: GGUFValue, fileName: String) throws {
        guard !key.isEmpty, key.utf8.count < GGUFLayout.maximumKeyBytes, key.unicodeScalars.allSatisfy(\.isASCII),
            !key.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty)
        else {
            throw FormatError(
                file: fileName,
                "cannot write metadata key '\(key)': keys are non-empty ASCII, dot-separated segments, under 65536 bytes"
            )
        }
        try validate(value, at: key, fileName: fileName)
    }

    private static func validate(_ value: GGUFValue, at key: String, fileName: String) throws {
        guard case .array(let elementType, let elements) = value else { return }
        guard elementType != .array else {
            // The format allows it, but ggml's reader refuses nested arrays, so llama.cpp could not load the file.
            throw FormatError(file: fileName, "cannot write metadata '\(key)': arrays of arrays cannot be read by ggml")
        }
        for (index, element) in elements.enumerated() {
            guard element.type == elementType else {
                throw FormatError(
                    file: fileName,
                    "cannot write metadata '\(key)': element \(index) is \(element.type) but the array holds \(elementType)"
                )
            }
        }
    }
}
