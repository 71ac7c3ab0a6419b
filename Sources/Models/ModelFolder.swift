import Core
import Foundation
import Formats
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
    /// `trainable: false` for frozen models (references, reward models during RL).
    public static func load(_ folder: URL, device: Device, trainable: Bool = true) throws
        -> (model: LanguageModel, report: LoadReport)
    {
        let (config, store, report) = try loadParameters(folder, device: device, trainable: trainable) {
            ModelParameters.specs(for: $0)
        }
        return (try makeLanguageModel(config: config, parameters: store), report)
    }

    /// Reads `folder`'s config and loads the parameters `specs(config)` names from its
    /// checkpoint; shapes must match what the config implies.
    static func loadParameters(_ folder: URL, device: Device, trainable: Bool, specs makeSpecs: (ModelConfig) -> [ParameterSpec])
        throws -> (ModelConfig, ParameterStore, LoadReport)
    {
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw FormatError(file: folder.path, "model folder does not exist; give a folder with config.json and model.safetensors "
                + "(a run's final/ or a Hugging Face download)")
        }
        let config = try ModelConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let checkpoint = try SafetensorsCheckpoint(folder: folder)
        let specs = makeSpecs(config).map {
            ParameterSpec($0.name, shape: $0.shape, decays: $0.decays, trainable: trainable)
        }
        let store = try ParameterStore(device: device, specs: specs, label: folder.lastPathComponent)
        var used = Set<String>()
        for spec in specs {
            guard let key = checkpointKey(for: spec.name, in: checkpoint) else {
                throw FormatError(file: folder.path, "checkpoint has no tensor '\(spec.name)' (needed by \(config.modelType.rawValue) "
                    + "with \(config.layerCount) layers\(config.tieWordEmbeddings ? ", tied embeddings" : ", untied head"))")
            }
            let info = try checkpoint.info(key)
            guard info.shape == spec.shape else {
                throw FormatError(file: folder.path, "tensor '\(key)' has shape \(info.shape), but config.json implies \(spec.shape)")
            }
            try store.load(spec.name, values: checkpoint.floats(key))
            used.insert(key)
        }
        let unused = checkpoint.names.filter { !used.contains($0) && !isIgnorable($0, config: config) }
        return (config, store, LoadReport(unusedKeys: unused))
    }

    /// Saves `model` into `folder` as `config.json` and `model.safetensors` (float32, tied
    /// weights written once), each written atomically.
    public static func save(_ model: LanguageModel, to folder: URL) throws {
        try save(model.parameters, specs: ModelParameters.specs(for: model.config), config: model.config, to: folder)
    }

    /// Saves the parameters `specs` names from `store`, with `config` as `config.json`.
    public static func save(_ store: ParameterStore, specs: [ParameterSpec], config: ModelConfig, to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let values = try store.allValues()
        let tensors = specs.map { spec in SafetensorsTensor(name: spec.name, shape: spec.shape, floats: values[spec.name]!) }
        try SafetensorsWriter.write(tensors, to: folder.appendingPathComponent(SafetensorsCheckpoint.singleFileName))
        try config.write(to: folder.appendingPathComponent("config.json"))
    }

    /// The checkpoint key holding parameter `name`: the name itself, or for GPT-2 the name
    /// without `transformer.` (files saved from the bare `GPT2Model`, like the Hub's `gpt2`).
    static func checkpointKey(for name: String, in checkpoint: SafetensorsCheckpoint) -> String? {
        if checkpoint.contains(name) { return name }
        let prefix = "transformer."
        if name.hasPrefix(prefix), checkpoint.contains(String(name.dropFirst(prefix.count))) {
            return String(name.dropFirst(prefix.count))
        }
        return nil
    }

    /// Keys that are buffers, not parameters (FORMATS §1.6, §3.2), or a stray head of a tied model (§3.5).
    static func isIgnorable(_ key: String, config: ModelConfig) -> Bool {
        key.hasSuffix(".attn.bias") || key.hasSuffix(".attn.masked_bias") || key.hasSuffix("rotary_emb.inv_freq")
            || (config.tieWordEmbeddings && key == "lm_head.weight")
    }
}
