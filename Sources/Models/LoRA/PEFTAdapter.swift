import Core
import Formats
import Foundation
import Tensors

/// A LoRA adapter folder in PEFT's format (docs/formats.md §7.3–7.4): `adapter_config.json`, which names
/// the base model's folder, and `adapter_model.safetensors`, whose keys are the module paths
/// under `base_model.model.` (`…q_proj.lora_A.weight`), plus fully trained modules such as a
/// reward model's `score.weight`.
public struct PEFTAdapter {
    /// The weights file's name inside an adapter folder.
    public static let weightsFileName = "adapter_model.safetensors"
    /// The prefix PEFT's wrapper puts before every transformers key.
    static let keyPrefix = "base_model.model."

    /// The adapter folder.
    public let folder: URL
    /// Its `adapter_config.json`.
    public let config: PEFTAdapterConfig
    /// Its `adapter_model.safetensors` (memory-mapped).
    public let weights: SafetensorsFile

    /// Whether `folder` holds an adapter rather than a full model.
    public static func isAdapter(_ folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(PEFTAdapterConfig.fileName).path)
    }

    /// Opens the adapter in `folder`.
    public init(folder: URL) throws {
        self.folder = folder
        config = try PEFTAdapterConfig(contentsOf: folder.appendingPathComponent(PEFTAdapterConfig.fileName))
        weights = try SafetensorsFile(contentsOf: folder.appendingPathComponent(Self.weightsFileName))
    }

    /// The base model's folder: `base_model_name_or_path` as a path, absolute or relative to the
    /// current directory, else relative to the adapter folder.
    public func baseFolder() throws -> URL {
        let path = config.baseModel
        let candidates =
            path.hasPrefix("/")
            ? [URL(fileURLWithPath: path)]
            : [URL(fileURLWithPath: path), folder.appendingPathComponent(path)]
        guard
            let base = candidates.first(where: {
                FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path)
            })
        else {
            throw FormatError(
                file: folder.appendingPathComponent(PEFTAdapterConfig.fileName).path,
                "base_model_name_or_path '\(path)' is not a model folder here (no config.json); "
                    + "point it at the base model's folder (Hub names are not downloaded)")
        }
        return base
    }

    /// The fully saved tensor for parameter `name` (e.g. "score.weight"), if the adapter has one.
    func savedTensor(_ name: String) throws -> (shape: [Int], values: [Float])? {
        let key = Self.keyPrefix + name
        guard weights.contains(key) else { return nil }
        return (try weights.info(key).shape, try weights.floats(key))
    }

    /// `weight` of module `path` ([out, in], or [in, out] when `layout` says so) with this
    /// adapter merged in: W₀ + s·B·A (docs/formats.md §7.5), computed in float32. Unadapted modules come back unchanged.
    func merged(_ weight: [Float], module path: String, layout: WeightLayout) throws -> [Float] {
        let aKey = Self.keyPrefix + LoRAAdapters.aName(path)
        let bKey = Self.keyPrefix + LoRAAdapters.bName(path)
        guard weights.contains(aKey) else { return weight }
        let (aShape, bShape) = (try weights.info(aKey).shape, try weights.info(bKey).shape)
        let (r, inputs, outputs) = (aShape[0], aShape[1], bShape[0])
        guard aShape.count == 2, bShape == [outputs, r], inputs * outputs == weight.count else {
            throw FormatError(
                file: weights.fileName,
                "adapter of '\(path)' has A \(aShape) and B \(bShape), which do not fit its weight of \(weight.count) elements"
            )
        }
        let a = try weights.floats(aKey)
        let b = try weights.floats(bKey)
        let scale = config.lora.scale
        var result = weight
        for o in 0..<outputs {
            for i in 0..<inputs {
                var sum: Float = 0
                for k in 0..<r { sum += b[o * r + k] * a[k * inputs + i] }
                result[layout == .outputInput ? o * inputs + i : i * outputs + o] += scale * sum
            }
        }
        return result
    }

    /// Module paths this adapter adapts.
    var adaptedModules: [String] {
        weights.names.filter { $0.hasSuffix(".lora_A.weight") }.map {
            String($0.dropFirst(Self.keyPrefix.count).dropLast(".lora_A.weight".count))
        }
    }

    /// Writes `adapters`' weights from `store` (and the fully trained `modulesToSave`
    /// parameters, such as "score.weight") into `folder` as a PEFT adapter on `baseModel`.
    public static func write(
        _ adapters: LoRAAdapters, store: ParameterStore, config: ModelConfig, baseModel: URL,
        taskType: String, savedParameters: [String] = [], to folder: URL
    ) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var settings = adapters.settings
        if settings.targetModules == .familyDefault {
            settings.targetModules = .names(config.family.defaultLoRATargets)
        }
        let names = adapters.specs.map(\.name) + savedParameters
        let tensors = try names.map { name in
            SafetensorsTensor(
                name: keyPrefix + name, shape: try store.tensor(name).shape, floats: try store.values(of: name))
        }
        try SafetensorsWriter.write(tensors, to: folder.appendingPathComponent(weightsFileName))
        let modules = savedParameters.map { String($0.split(separator: ".").first!) }
        try PEFTAdapterConfig(
            baseModel: baseModel.standardizedFileURL.path, taskType: taskType, lora: settings,
            modulesToSave: modules, fanInFanOut: adapters.modules.contains { $0.layout == .inputOutput }
        )
        .write(to: folder.appendingPathComponent(PEFTAdapterConfig.fileName))
    }
}
