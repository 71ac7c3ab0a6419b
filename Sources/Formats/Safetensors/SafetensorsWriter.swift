import Foundation

/// One tensor to write: its name, element type, shape and little-endian bytes.
public struct SafetensorsTensor: Sendable {
    public var name: String
    public var dtype: SafetensorsDType
    public var shape: [Int]
    public var bytes: Data

    /// A tensor from raw little-endian bytes (checked against `dtype` × `shape` when written).
    public init(name: String, dtype: SafetensorsDType, shape: [Int], bytes: Data) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// A float tensor stored as `dtype` (F32 by default; F16/BF16 round to nearest even).
    public init(name: String, shape: [Int], floats: [Float], dtype: SafetensorsDType = .f32) {
        self.init(name: name, dtype: dtype, shape: shape, bytes: TensorBytes.bytes(of: floats, as: dtype))
    }
}

/// Writes safetensors files exactly as the reference writer lays them out (docs/formats.md §1.3).
public enum SafetensorsWriter {
    /// The metadata PyTorch/transformers writers put in every file; older transformers refuse files
    /// without it.
    public static let defaultMetadata = ["format": "pt"]

    /// The complete file: tensors sorted by dtype (descending) then name (byte order), packed from
    /// offset 0; compact JSON header with `__metadata__` first, padded with spaces to a multiple of 8.
    public static func fileData(_ tensors: [SafetensorsTensor], metadata: [String: String] = defaultMetadata) throws
        -> Data
    {
        let (header, ordered) = try layout(tensors, metadata: metadata)
        var file = header
        for tensor in ordered { file.append(tensor.bytes) }
        return file
    }

    /// Writes the file to `url` atomically (temporary file in the same folder, then rename).
    public static func write(_ tensors: [SafetensorsTensor], metadata: [String: String] = defaultMetadata, to url: URL)
        throws
    {
        let (header, ordered) = try layout(tensors, metadata: metadata, fileName: url.displayName)
        try AtomicFile.write([header] + ordered.map(\.bytes), to: url)
    }

    /// The 8-byte length prefix plus padded header, and the tensors in file order.
    static func layout(_ tensors: [SafetensorsTensor], metadata: [String: String], fileName: String = "safetensors")
        throws -> (Data, [SafetensorsTensor])
    {
        var seen = Set<String>()
        for tensor in tensors {
            func fail(_ message: String) -> FormatError {
                FormatError(file: fileName, "cannot write tensor '\(tensor.name)': \(message)")
            }
            guard tensor.name != "__metadata__" else { throw fail("the name is reserved for metadata") }
            guard seen.insert(tensor.name).inserted else { throw fail("the name appears twice") }
            guard tensor.shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("shape \(tensor.shape) has a negative dimension")
            }
            let info = SafetensorsTensorInfo(
                name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, dataOffsets: 0..<tensor.bytes.count)
            let needed = try SafetensorsHeader.byteCount(of: info) {
                FormatError(file: fileName, "cannot write: \($0)")
            }
            guard needed == tensor.bytes.count else {
                throw fail(
                    "\(tensor.dtype.rawValue) \(tensor.shape) needs \(needed) bytes but \(tensor.bytes.count) were given"
                )
            }
        }
        let ordered = tensors.sorted {
            $0.dtype != $1.dtype ? $0.dtype > $1.dtype : $0.name.utf8.lexicographicallyPrecedes($1.name.utf8)
        }
        var header = JSONObject()
        if !metadata.isEmpty {
            var entries = JSONObject()
            for key in metadata.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                entries[key] = .string(metadata[key]!)
            }
            header["__metadata__"] = .object(entries)
        }
        var offset = 0
        for tensor in ordered {
            header[tensor.name] = .object([
                "dtype": .string(tensor.dtype.rawValue),
                "shape": .array(tensor.shape.map { .int($0) }),
                "data_offsets": [.int(offset), .int(offset + tensor.bytes.count)],
            ])
            offset += tensor.bytes.count
        }
        var text = Array(JSONValue.object(header).serialized(.compact).utf8)
        text.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - text.count % 8) % 8))
        guard text.count <= SafetensorsFile.maximumHeaderSize else {
            throw FormatError(
                file: fileName,
                "cannot write: the header would be \(text.count) bytes, more than the \(SafetensorsFile.maximumHeaderSize)-byte limit readers accept"
            )
        }
        var prefix = Data()
        withUnsafeBytes(of: UInt64(text.count).littleEndian) { prefix.append(contentsOf: $0) }
        prefix.append(contentsOf: text)
        return (prefix, ordered)
    }
}
