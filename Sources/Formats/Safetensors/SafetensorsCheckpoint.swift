import Foundation

/// The weights of a Hugging Face model folder (docs/formats.md §1.5): `model.safetensors`, or the shards
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
        let singleURL = folder.appendingPathComponent(Self.singleFileName)
        if FileManager.default.fileExists(atPath: indexURL.path) {
            try self.init(index: indexURL)
        } else if FileManager.default.fileExists(atPath: singleURL.path) {
            try self.init(files: [SafetensorsFile(contentsOf: singleURL)])
        } else {
            let others = ["pytorch_model.bin", "pytorch_model.bin.index.json", "model.bin"]
                .filter { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
            throw FormatError(
                file: folder.displayName,
                "has neither \(Self.singleFileName) nor \(Self.indexFileName)"
                    + (others.isEmpty
                        ? ""
                        : "; it has \(others.joined(separator: ", ")), PyTorch pickles that gputrain does not read "
                            + "(save the model again with save_pretrained(safe_serialization=True))"))
        }
    }

    /// Opens the shards named by the index at `index` and checks that the index agrees with them
    /// and with the shard files' own numbering (`model-00002-of-00003.safetensors`).
    public init(index: URL) throws {
        let fields = try JSONFields(document: JSONValue.read(contentsOf: index), file: index.displayName)
        guard let weightMap = try fields.object("weight_map") else {
            throw fields.error(
                "weight_map", "is missing; a sharded checkpoint's index maps each tensor name to its shard file")
        }
        var shardOf: [String: String] = [:]
        for entry in weightMap.object.entries {
            guard let shard = entry.value.stringValue else {
                throw weightMap.error(entry.key, "should name a shard file, found \(entry.value.kindName)")
            }
            guard !shard.isEmpty, !shard.contains("/"), shard != "..", shard != "." else {
                throw weightMap.error(entry.key, "names shard '\(shard)'; shards are file names in the index's folder")
            }
            shardOf[entry.key] = shard
        }
        let folder = index.deletingLastPathComponent()
        let shardNames = Array(Set(shardOf.values)).sorted()
        try Self.requireEveryShard(shardNames, tensors: shardOf, folder: folder, index: index)
        let files = try shardNames.map { try SafetensorsFile(contentsOf: folder.appendingPathComponent($0)) }
        try self.init(files: files)
        for (name, shard) in shardOf.sorted(by: { $0.key < $1.key }) {
            let actual = fileOfTensor[name].map { URL(fileURLWithPath: files[$0].fileName).lastPathComponent }
            guard actual == shard else {
                throw FormatError(
                    file: index.displayName,
                    actual == nil
                        ? "weight_map lists tensor '\(name)' in \(shard), but no shard contains it"
                        : "weight_map lists tensor '\(name)' in \(shard), but it is in \(actual!)")
            }
        }
    }

    /// Throws unless every shard the index names exists, and, when the names follow transformers'
    /// `…-0000i-of-0000K.safetensors` pattern, the index names all K of them (a shard missing from
    /// the index would leave its tensors out).
    private static func requireEveryShard(
        _ shards: [String], tensors shardOf: [String: String], folder: URL, index: URL
    ) throws {
        for shard in shards where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(shard).path) {
            let listed = shardOf.filter { $0.value == shard }.keys.sorted()
            throw FormatError(
                file: index.displayName,
                "weight_map puts \(listed.count) tensors (first '\(listed[0])') in \(shard), "
                    + "but \(folder.appendingPathComponent(shard).displayName) does not exist; download every shard the index lists"
            )
        }
        var numbered: [String: (total: Int, present: Set<Int>, example: String)] = [:]
        for shard in shards {
            guard let (stem, number, total) = shardNumber(shard) else { continue }
            numbered[stem + "\(total)", default: (total, [], shard)].present.insert(number)
        }
        for (_, group) in numbered.sorted(by: { $0.key < $1.key }) {
            guard let missing = (1...group.total).first(where: { !group.present.contains($0) }) else { continue }
            let name = shardName(like: group.example, number: missing)
            let onDisk = FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path)
            throw FormatError(
                file: index.displayName,
                "weight_map names no tensor in \(name) (shard \(missing) of \(group.total)"
                    + (onDisk ? ", which is in the folder" : ", which is not in the folder either")
                    + "); the index is incomplete or belongs to another download of the model")
        }
    }

    /// The stem, shard number and shard count of a name like `model-00002-of-00003.safetensors`.
    private static func shardNumber(_ name: String) -> (stem: String, number: Int, total: Int)? {
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[parts.count - 2] == "of",
            let number = Int(parts[parts.count - 3]),
            let totalPart = parts.last, totalPart.hasSuffix(".safetensors"),
            let total = Int(totalPart.dropLast(".safetensors".count)),
            (1...total).contains(number)
        else { return nil }
        return (parts.dropLast(3).joined(separator: "-"), number, total)
    }

    /// `example` with its shard number replaced by `number` (same digit count).
    private static func shardName(like example: String, number: Int) -> String {
        var parts = example.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        let width = parts[parts.count - 3].count
        let digits = String(number)
        parts[parts.count - 3] = String(repeating: "0", count: max(0, width - digits.count)) + digits
        return parts.joined(separator: "-")
    }

    /// Combines already opened files; a tensor name in two files is an error.
    public init(files: [SafetensorsFile]) throws {
        var fileOfTensor: [String: Int] = [:]
        for (index, file) in files.enumerated() {
            for name in file.names {
                if let other = fileOfTensor[name] {
                    throw FormatError(
                        file: file.fileName,
                        "tensor '\(name)' also appears in \(files[other].fileName); each tensor must be in exactly one shard"
                    )
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
