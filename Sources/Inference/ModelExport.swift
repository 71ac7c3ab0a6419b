import Core
import Formats
import Foundation
import Models
import Tensors

/// `gputrain export`: a model folder (a run's `final/`, a Hugging Face download, or a LoRA
/// adapter merged into its base) written out as a self-contained model for other tools.
public enum ModelExport {
    /// What an export wrote.
    public struct Summary: Sendable {
        /// Parameters written.
        public var parameters: Int
        /// The weights' type as written ("float32", "bfloat16", "f16", …).
        public var dtype: String
        /// The folder or file written.
        public var output: URL
        /// Whether a LoRA adapter was merged into its base.
        public var mergedAdapter: Bool
    }

    /// Writes the model in `folder` to `output` in Hugging Face layout (`config.json`,
    /// `model.safetensors` with `{"format": "pt"}`, tied weights once, tokenizer files), as
    /// `dtype` or, when nil, the type the base checkpoint declares (float32 for models trained
    /// here). A LoRA adapter folder needs `mergeLoRA`: its adapter is merged into the base weights.
    /// The weights pass through `device` (the reference device keeps them in host memory).
    /// `output` must be new or an empty folder; with `overwrite`, it may also be a folder an
    /// earlier export made (`OwnedFolder`), which is replaced. Nothing else is ever removed.
    public static func huggingFace(
        from folder: URL, to output: URL, dtype: SafetensorsDType?, mergeLoRA: Bool, overwrite: Bool = false,
        device: Device
    ) throws -> Summary {
        let isAdapter = try requireMergeChoice(folder, mergeLoRA: mergeLoRA)
        guard output.standardizedFileURL != folder.standardizedFileURL else {
            throw FormatError(file: output.path, "is the model being exported; choose another --out folder")
        }
        try requireReplaceable(output, overwrite: overwrite)
        let (store, specs, config) = try load(folder, device: device)
        let chosen = dtype ?? config.dtype.flatMap(SafetensorsDType.init(floatName:)) ?? .f32
        let staging = output.deletingLastPathComponent().appendingPathComponent(".\(output.lastPathComponent).partial")
        try OwnedFolder.remove(staging, instead: "move it away; gputrain stages the export under that name")
        try OwnedFolder.create(staging, holding: "exported model")
        try ModelFolder.save(store, specs: specs, config: config, dtype: chosen, to: staging)
        try copyTokenizerFiles(from: ModelFolder.tokenizerFolder(of: folder), to: staging)
        try OwnedFolder.remove(output, instead: "choose another --out")
        try FileManager.default.moveItem(at: staging, to: output)
        return Summary(
            parameters: specs.reduce(0) { $0 + $1.count }, dtype: chosen.torchName ?? chosen.rawValue, output: output,
            mergedAdapter: isAdapter)
    }

    /// Writes the language model in `folder` to the GGUF file `output` for llama.cpp (docs/formats.md §5),
    /// with its tokenizer and chat template; a LoRA adapter folder needs `mergeLoRA`. Returns
    /// what was written and the tokenizer features llama.cpp cannot reproduce (warnings).
    /// An existing `output` is replaced only with `overwrite`, and only when it is a GGUF file.
    public static func gguf(
        from folder: URL, to output: URL, dtype: GGUFExport.DType, mergeLoRA: Bool, overwrite: Bool = false,
        device: Device
    ) throws -> (summary: Summary, warnings: [String]) {
        let isAdapter = try requireMergeChoice(folder, mergeLoRA: mergeLoRA)
        try requireReplaceableGGUF(output, overwrite: overwrite)
        if try ScalarHeadModel.hasHead(in: folder) {
            throw FormatError(file: folder.path, "is a reward model (score.weight); GGUF export is for language models")
        }
        let model = try ModelFolder.load(folder, device: device, trainable: false).model
        let tokenizerFolder = try ModelFolder.tokenizerFolder(of: folder)
        let tokenizer = try Tokenizer.load(fromPath: tokenizerFolder.path)
        let report = try GGUFExport.write(
            model: model, tokenizer: tokenizer, tokenizerConfig: tokenizerFolder, dtype: dtype, to: output)
        let summary = Summary(
            parameters: ModelParameters.specs(for: model.config).reduce(0) { $0 + $1.count }, dtype: dtype.rawValue,
            output: output, mergedAdapter: isAdapter)
        return (summary, report.warnings)
    }

    /// Throws unless `output` may be written: absent, an empty folder, or (with `overwrite`) a
    /// folder gputrain made.
    static func requireReplaceable(_ output: URL, overwrite: Bool) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output.path, isDirectory: &isFolder) else { return }
        if isFolder.boolValue && OwnedFolder.isEmptyFolder(output) { return }
        guard overwrite else {
            throw FormatError(
                file: output.path, "already exists; choose a new --out folder, or pass --overwrite to replace an export"
            )
        }
        guard isFolder.boolValue, OwnedFolder.isOwned(output) else {
            throw FormatError(
                file: output.path,
                "was not made by gputrain (no \(OwnedFolder.markerName) marker), so --overwrite does not replace it; "
                    + "choose another --out")
        }
    }

    /// Throws unless the GGUF file `output` may be written: absent, or (with `overwrite`) a GGUF file.
    static func requireReplaceableGGUF(_ output: URL, overwrite: Bool) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output.path, isDirectory: &isFolder) else { return }
        guard overwrite else {
            throw FormatError(file: output.path, "already exists; choose a new --out file, or pass --overwrite")
        }
        let handle = FileHandle(forReadingAtPath: output.path)
        defer { try? handle?.close() }
        let head = try? handle?.read(upToCount: 4)
        guard !isFolder.boolValue, head == Data("GGUF".utf8) else {
            throw FormatError(
                file: output.path, "is not a GGUF file, so --overwrite does not replace it; choose another --out")
        }
    }

    /// Throws unless an adapter folder comes with `--merge-lora`; returns whether it is one.
    static func requireMergeChoice(_ folder: URL, mergeLoRA: Bool) throws -> Bool {
        let isAdapter = PEFTAdapter.isAdapter(folder)
        if isAdapter && !mergeLoRA {
            throw FormatError(
                file: folder.path,
                "is a LoRA adapter (adapter_config.json); add --merge-lora to write the base model "
                    + "with the adapter merged in, or load the folder as it is with PEFT")
        }
        return isAdapter
    }

    /// The model in `folder` (a language model, or a scalar-head model when it has
    /// `score.weight`) loaded frozen onto `device`, with the parameters to write and its config.
    static func load(_ folder: URL, device: Device) throws -> (ParameterStore, [ParameterSpec], ModelConfig) {
        if try ScalarHeadModel.hasHead(in: folder) {
            let model = try ScalarHeadModel.load(folder, device: device, trainable: false)
            return (model.parameters, ScalarHeadModel.specs(for: model.config), model.config)
        }
        let model = try ModelFolder.load(folder, device: device, trainable: false).model
        return (model.parameters, ModelParameters.specs(for: model.config), model.config)
    }

    /// The tokenizer and generation files a model folder carries besides its weights.
    static let companionFiles = [
        "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json",
        "generation_config.json",
    ]

    /// Copies the companion files `source` has into `target`.
    static func copyTokenizerFiles(from source: URL, to target: URL) throws {
        for name in companionFiles
        where FileManager.default.fileExists(atPath: source.appendingPathComponent(name).path) {
            try FileManager.default.copyItem(
                at: source.appendingPathComponent(name), to: target.appendingPathComponent(name))
        }
    }
}
