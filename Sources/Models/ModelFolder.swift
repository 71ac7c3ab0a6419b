import Core
import Formats
import Foundation
import Tensors

/// A model in Hugging Face layout on disk: `config.json` and `model.safetensors` (or a
/// sharded index), loaded into a `ParameterStore` by checkpoint key and saved the same way.
public enum ModelFolder {
    /// What loading found besides the parameters it needed.
    public struct LoadReport: Sendable {
        /// Checkpoint keys that no parameter used (other than known buffers such as GPT-2's
        /// causal-mask `attn.bias`).
        public var unusedKeys: [String]
    }

    /// Loads the model in `folder` onto `device`. Trainable parameters get gradients; pass
    /// `trainable: false` for frozen models (references, reward models during RL). `folder` may
    /// be a PEFT adapter folder: the adapter is merged into its base model's weights as they
    /// load, or with `mergeAdapter: false` kept apart and applied in every forward pass (base +
    /// adapter, as PEFT runs it). With `lora` (rank > 0) the weights are frozen and fresh
    /// adapters are trained instead.
    public static func load(
        _ folder: URL, device: Device, trainable: Bool = true, lora: LoRASettings = LoRASettings(),
        mergeAdapter: Bool = true
    ) throws -> (model: LanguageModel, report: LoadReport) {
        let loaded = try loadParameters(
            folder, device: device, trainable: trainable, lora: lora, mergeAdapter: mergeAdapter
        ) {
            ModelParameters.specs(for: $0)
        }
        return (
            try makeLanguageModel(config: loaded.config, parameters: loaded.store, adapters: loaded.adapters),
            loaded.report
        )
    }

    /// The folder holding the tokenizer of the model in `folder`: the folder itself, or for an
    /// adapter folder without tokenizer files, its base model's folder.
    public static func tokenizerFolder(of folder: URL) throws -> URL {
        let hasTokenizer = FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path)
        guard !hasTokenizer, PEFTAdapter.isAdapter(folder) else { return folder }
        return try PEFTAdapter(folder: folder).baseFolder()
    }

    /// The `config.json` of the model in `folder` (for an adapter folder, its base model's).
    public static func config(of folder: URL) throws -> ModelConfig {
        try ModelConfig(contentsOf: source(of: folder).base.appendingPathComponent("config.json"))
    }

    /// Where the model in `folder` comes from: the folder itself, or an adapter and its base folder.
    static func source(of folder: URL) throws -> (adapter: PEFTAdapter?, base: URL) {
        guard PEFTAdapter.isAdapter(folder) else { return (nil, folder) }
        let adapter = try PEFTAdapter(folder: folder)
        return (adapter, try adapter.baseFolder())
    }

    /// What `loadParameters` made.
    struct LoadedParameters {
        var config: ModelConfig
        var store: ParameterStore
        /// The fresh LoRA adapters (their weights are in `store`), when LoRA was asked for.
        var adapters: LoRAAdapters?
        var report: LoadReport
    }

    /// Reads `folder`'s config and loads the parameters `specs(config)` names from its checkpoint
    /// (an adapter folder's base, with the adapter merged); shapes must match what the config
    /// implies. Names in `fresh` may be missing from the checkpoint: they then take the values
    /// `fresh` makes for them. With LoRA, every parameter but those in `fullyTrained` is frozen.
    static func loadParameters(
        _ folder: URL, device: Device, trainable: Bool, lora: LoRASettings = LoRASettings(), mergeAdapter: Bool = true,
        fullyTrained: Set<String> = [],
        fresh: [String: (ModelConfig) -> [Float]] = [:], specs makeSpecs: (ModelConfig) -> [ParameterSpec]
    ) throws -> LoadedParameters {
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw FormatError(
                file: folder.path,
                "model folder does not exist; give a folder with config.json and model.safetensors "
                    + "(a run's final/ or a Hugging Face download)")
        }
        let (adapter, baseFolder) = try source(of: folder)
        let config = try ModelConfig(contentsOf: baseFolder.appendingPathComponent("config.json"))
        let checkpoint = try SafetensorsCheckpoint(folder: baseFolder)
        // An adapter kept apart becomes the model's adapters, its weights read from the file.
        let kept = mergeAdapter || lora.isEnabled ? nil : adapter
        let merging = kept == nil ? adapter : nil
        let settings = kept.map { $0.config.lora } ?? lora
        let adapters = settings.isEnabled ? try LoRAAdapters(settings: settings, config: config) : nil
        let (baseSpecs, adapterSpecs) = ModelParameters.specs(
            makeSpecs(config), trainable: trainable, adapters: adapters,
            fullyTrained: fullyTrained)
        let store = try ParameterStore(device: device, specs: baseSpecs + adapterSpecs, label: folder.lastPathComponent)
        let modules = ModelParameters.linearModules(for: config)
        let layouts = Dictionary(uniqueKeysWithValues: modules.map { ($0.path + ".weight", $0.layout) })
        var used = Set<String>()
        for spec in baseSpecs {
            if let saved = try adapter?.savedTensor(spec.name) {
                guard saved.shape == spec.shape else {
                    throw FormatError(
                        file: adapter!.weights.fileName,
                        "tensor '\(spec.name)' has shape \(saved.shape), but the base model implies \(spec.shape)")
                }
                try store.load(spec.name, values: saved.values)
                continue
            }
            guard let key = config.family.checkpointKeys(for: spec.name).first(where: checkpoint.contains) else {
                if let initial = fresh[spec.name] {
                    try store.load(spec.name, values: initial(config))
                    continue
                }
                throw FormatError(
                    file: baseFolder.path,
                    "checkpoint has no tensor '\(spec.name)' (needed by \(config.modelType.rawValue) "
                        + "with \(config.layerCount) layers\(config.tieWordEmbeddings ? ", tied embeddings" : ", untied head"))"
                )
            }
            let info = try checkpoint.info(key)
            guard info.shape == spec.shape else {
                throw FormatError(
                    file: baseFolder.path,
                    "tensor '\(key)' has shape \(info.shape), but config.json implies \(spec.shape)")
            }
            var values = try checkpoint.floats(key)
            if let merging, let layout = layouts[spec.name] {
                values = try merging.merged(values, module: String(spec.name.dropLast(".weight".count)), layout: layout)
            }
            try store.load(spec.name, values: values)
            used.insert(key)
        }
        if let adapter {
            let known = Set(modules.map(\.path))
            if let stray = adapter.adaptedModules.first(where: { !known.contains($0) }) {
                throw FormatError(
                    file: adapter.weights.fileName,
                    "adapts '\(stray)', which this \(config.modelType.rawValue) model does not have; "
                        + "the adapter was made for another base model than \(baseFolder.path)")
            }
        }
        if let kept {
            for spec in adapterSpecs {
                guard let saved = try kept.savedTensor(spec.name), saved.shape == spec.shape else {
                    throw FormatError(
                        file: kept.weights.fileName,
                        "has no tensor '\(PEFTAdapter.keyPrefix + spec.name)' of shape \(spec.shape)")
                }
                try store.load(spec.name, values: saved.values)
            }
        } else {
            try adapters?.initialize(in: store)
        }
        let unused = checkpoint.names.filter { !used.contains($0) && !isIgnorable($0, config: config) }
        return LoadedParameters(
            config: config, store: store, adapters: adapters, report: LoadReport(unusedKeys: unused))
    }

    /// Saves `model` into `folder` as `config.json` and `model.safetensors` (float32, tied
    /// weights written once), each written atomically.
    public static func save(_ model: LanguageModel, to folder: URL) throws {
        try save(model.parameters, specs: ModelParameters.specs(for: model.config), config: model.config, to: folder)
    }

    /// Saves the parameters `specs` names from `store` as `dtype` (F32, F16 or BF16), with
    /// `config` as `config.json` (its `torch_dtype` set to match).
    public static func save(
        _ store: ParameterStore, specs: [ParameterSpec], config: ModelConfig, dtype: SafetensorsDType = .f32,
        to folder: URL
    ) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let tensors = try specs.map { spec in
            SafetensorsTensor(name: spec.name, shape: spec.shape, floats: try store.values(of: spec.name), dtype: dtype)
        }
        try SafetensorsWriter.write(tensors, to: folder.appendingPathComponent(SafetensorsCheckpoint.singleFileName))
        var config = config
        config.dtype = dtype.torchName
        try config.write(to: folder.appendingPathComponent("config.json"))
    }

    /// Keys that are buffers, not parameters (docs/formats.md §1.6, §3.2), or a stray head of a tied model (§3.5).
    static func isIgnorable(_ key: String, config: ModelConfig) -> Bool {
        config.family.isBuffer(key) || (config.tieWordEmbeddings && key == ModelParameters.headName)
    }
}
