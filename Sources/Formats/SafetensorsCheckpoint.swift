import Foundation

/// The weights of a Hugging Face model folder (FORMATS §1.5): `model.safetensors`, or the shards
/// listed in `model.safetensors.index.json`, seen as one set of named tensors.
public struct SafetensorsCheckpoint: Sendable {
    /// The index file name transformers writes for sharded checkpoints.
    public static let indexFileName = "model.safetensors.index.json"
    /// The single-file name transformers writes for unsharded checkpoints.
    public static let singleFileName = "model.safetensors"

    /// The opened files (one, or one per shard).
    public let files: [SafetensorsFile]
    private let fileOfTensor: [String: Int]

    /// Opens the checkpoint in `folder`: the index and its shards if the index exists, else the single file.
    public init(folder: URL) throws {
        let indexURL = folder.appendingPathComponent(Self.indexFileName)
        if FileManager.default.fileExists(atPath: indexURL.path) {
            try self.init(index: indexURL)
        } else {
            try self.init(files: [SafetensorsFile(contentsOf: folder.appendingPathComponent(Self.singleFileName))])
        }
    }

    /// Opens the shards named by the index at `index` and checks that the index agrees with them.
    public init(index: URL) throws {
        let fields = try JSONFields(document: JSONValue.read(contentsOf: index), file: index.displayName)
        guard let weightMap = try fields.object("weight_map") else { throw fields.error("weight_map", "is missing") }
        var shardOf: [String: String] = [:]
        for entry in weightMap.object.entries {
            guard let shard = entry.value.stringValue else {
                throw weightMap.error(entry.key, "should name a shard file, found \(entry.value.kindName)")
            }
            shardOf[entry.key] = shard
        }
        let folder = index.deletingLastPathComponent()
        let shardNames = Array(Set(shardOf.values)).sorted()
        let files = try shardNames.map { try SafetensorsFile(contentsOf: folder.appendingPathComponent($0)) }
        try self.init(files: files)
        for (name, shard) in shardOf.sorted(by: { $0.key < $1.key }) {
            let actual = fileOfTensor[name].map { URL(fileURLWithPath: files[$0].fileName).lastPathComponent }
            guard actual == shard else {
                throw FormatError(file: index.displayName, actual == nil
                    ? "weight_map lists tensor '\(name)' in \(shard), but no shard contains it"
                    : "weight_map lists tensor '\(name)' in \(shard), but it is in \(actual!)")
            }
        }
    }

    /// Combines already opened files; a tensor name in two files is an error.
    public init(files: [SafetensorsFile]) throws {
        var fileOfTensor: [String: Int] = [:]
        for (index, file) in files.enumerated() {
            for name in file.names {
                if let other = fileOfTensor[name] {
                    throw FormatError(file: file.fileName, "tensor '\(name)' also appears in \(files[other].fileName); each tensor must be in exactly one shard")
                }
                fileOfTensor[name] = index
            }
        }
        self.files = files
        self.fileOfTensor = fileOfTensor
    }

    /// All tensor names, sorted.
    public var names: [String] { fileOfTensor.keys.sorted() }

    /// Whether some file holds tensor `name`.
    public func contains(_ name: String) -> Bool { fileOfTensor[name] != nil }

    /// The file holding tensor `name`.
    public func file(containing name: String) throws -> SafetensorsFile {
        guard let index = fileOfTensor[name] else {
            throw FormatError(file: files.first?.fileName ?? "checkpoint", "no shard has a tensor named '\(name)'")
        }
        return files[index]
    }

    /// The description of tensor `name`.
    public func info(_ name: String) throws -> SafetensorsTensorInfo { try file(containing: name).info(name) }

    /// Tensor `name` widened to `Float`.
    public func floats(_ name: String) throws -> [Float] { try file(containing: name).floats(name) }
}
