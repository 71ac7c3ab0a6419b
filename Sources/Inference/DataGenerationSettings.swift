import Formats
import Foundation
import Models

/// Everything that decides what `gputrain generate --data` writes, as its sidecar
/// `<out>.meta.json` records it: a run resumes an output file only with the same settings, so
/// that the finished file equals one uninterrupted run.
public struct DataGenerationSettings: Equatable, Sendable {
    /// The model folder, as an absolute path.
    public var model: String
    /// A checksum of the model folder's file names, sizes and modification times: a model
    /// trained again into the same folder is another model.
    public var modelFiles: String
    /// The prompts file, as an absolute path (recorded only: a moved file with the same content
    /// resumes).
    public var data: String
    /// The checksum of the prompts file's content.
    public var dataChecksum: String
    public var prompts: Int
    /// Answers per prompt (`--n`).
    public var samples: Int
    public var batchSize: Int
    /// Whether string prompts are user messages in the chat template.
    public var chat: Bool
    public var system: String?
    /// New tokens per answer at most, and how tokens are chosen (the stop tokens follow from the
    /// model and `chat`, and are not recorded).
    public var options: GenerationOptions
    /// The gputrain that wrote the file (recorded only).
    public var version: String

    public init(
        model: String, modelFiles: String, data: String, dataChecksum: String, prompts: Int, samples: Int,
        batchSize: Int, chat: Bool, system: String?, options: GenerationOptions, version: String
    ) {
        self.model = model
        self.modelFiles = modelFiles
        self.data = data
        self.dataChecksum = dataChecksum
        self.prompts = prompts
        self.samples = samples
        self.batchSize = batchSize
        self.chat = chat
        self.system = system
        self.options = options
        self.version = version
    }

    /// What the sidecar's `format` says, so a sidecar is told from any other JSON file.
    public static let format = "gputrain generate --data"

    /// One recorded value: its key in the sidecar, how a message names it, and whether a
    /// difference stops a resume.
    struct Entry {
        var key: String
        var name: String
        var value: JSONValue
        var compared: Bool
    }

    var entries: [Entry] {
        let sampling = options.sampling
        return [
            Entry(key: "format", name: "format", value: .string(Self.format), compared: true),
            Entry(key: "gputrain_version", name: "gputrain version", value: .string(version), compared: false),
            Entry(key: "model", name: "--model", value: .string(model), compared: true),
            Entry(
                key: "model_files", name: "the files of --model (names, sizes, modification times)",
                value: .string(modelFiles), compared: true),
            Entry(key: "data", name: "--data", value: .string(data), compared: false),
            Entry(
                key: "data_checksum", name: "the content of --data (its checksum)", value: .string(dataChecksum),
                compared: true),
            Entry(key: "prompts", name: "prompts", value: .int(prompts), compared: true),
            Entry(key: "n", name: "--n", value: .int(samples), compared: true),
            Entry(key: "batch_size", name: "--batch-size", value: .int(batchSize), compared: true),
            Entry(key: "chat", name: "--chat", value: .bool(chat), compared: true),
            Entry(key: "system", name: "--system", value: system.map { .string($0) } ?? .null, compared: true),
            Entry(key: "max_tokens", name: "--max-tokens", value: .int(options.maxNewTokens), compared: true),
            Entry(
                key: "temperature", name: "--temperature", value: .double(Double(sampling.temperature)), compared: true),
            Entry(key: "top_k", name: "--top-k", value: sampling.topK.map { .int($0) } ?? .null, compared: true),
            Entry(key: "top_p", name: "--top-p", value: .double(Double(sampling.topP)), compared: true),
            Entry(
                key: "repetition_penalty", name: "--repetition-penalty",
                value: .double(Double(sampling.repetitionPenalty)), compared: true),
            // A seed beyond Int's range is written as a string, so it reads back exactly.
            Entry(
                key: "seed", name: "--seed",
                value: sampling.seed <= UInt64(Int.max) ? .int(Int(sampling.seed)) : .string(String(sampling.seed)),
                compared: true),
        ]
    }

    /// The sidecar's content.
    public var json: JSONValue { .object(JSONObject(entries.map { ($0.key, $0.value) })) }

    /// The first compared setting whose value in `recorded` (a sidecar's content) differs from
    /// this one's: its name and both values as JSON text; `nil` when all agree.
    public func firstDifference(from recorded: JSONObject) -> (setting: String, recorded: String, now: String)? {
        for entry in entries where entry.compared {
            let old = recorded[entry.key] ?? .null
            if old != entry.value { return (entry.name, old.serialized(), entry.value.serialized()) }
        }
        return nil
    }

    /// The checksum `modelFiles` records for the folder `url`: of one line "name size mtime"
    /// per regular file in it, in name order.
    public static func modelFilesChecksum(of url: URL) throws -> String {
        let keys: [URLResourceKey] = [.isRegularFileKey, .fileSizeKey, .contentModificationDateKey]
        let files = try FileManager.default.contentsOfDirectory(
            at: url, includingPropertiesForKeys: keys, options: [.skipsHiddenFiles])
        var lines: [String] = []
        for file in files {
            let values = try file.resourceValues(forKeys: Set(keys))
            guard values.isRegularFile == true else { continue }
            let time = values.contentModificationDate?.timeIntervalSince1970 ?? 0
            lines.append("\(file.lastPathComponent) \(values.fileSize ?? 0) \(time)")
        }
        return Checksum.of(text: lines.sorted().joined(separator: "\n"))
    }
}
