import Foundation

/// `adapter_config.json` of a PEFT LoRA adapter (docs/formats.md §7.3): what the adapter adapts, how it
/// scales, and which base model it goes on.
public struct PEFTAdapterConfig: Equatable, Sendable {
    /// The file's name inside an adapter folder.
    public static let fileName = "adapter_config.json"

    /// `base_model_name_or_path`: the base model's folder.
    public var baseModel: String
    /// "CAUSAL_LM" (a language model) or "SEQ_CLS" (a reward or value model).
    public var taskType: String
    /// Rank, scale, dropout and targets.
    public var lora: LoRASettings
    /// Modules trained in full and saved with the adapter (the `score` head of a reward model).
    public var modulesToSave: [String]
    /// Whether the adapted weights are stored [in, out] (GPT-2's `Conv1D`; PEFT insists on true there).
    public var fanInFanOut: Bool

    /// A config for an adapter on `baseModel` (a folder path).
    public init(
        baseModel: String, taskType: String, lora: LoRASettings, modulesToSave: [String] = [], fanInFanOut: Bool = false
    ) {
        self.baseModel = baseModel
        self.taskType = taskType
        self.lora = lora
        self.modulesToSave = modulesToSave
        self.fanInFanOut = fanInFanOut
    }

    /// Reads `url`; unknown keys are ignored (newer PEFT versions add some), and features this
    /// trainer does not implement (DoRA, LoRA biases, per-module ranks) are errors naming the key.
    public init(contentsOf url: URL) throws {
        let file = url.path
        let fields = try JSONFields(document: JSONValue.read(contentsOf: url), file: file)
        let peftType = try fields.string("peft_type") ?? "LORA"
        guard peftType == "LORA" else {
            throw fields.error("peft_type", "is '\(peftType)'; only LoRA adapters (\"LORA\") are supported")
        }
        baseModel = try fields.required("base_model_name_or_path", fields.string)
        taskType = try fields.string("task_type") ?? "CAUSAL_LM"
        lora = LoRASettings(
            r: try fields.required("r", fields.positive), alpha: try fields.double("lora_alpha") ?? 8,
            dropout: try fields.double("lora_dropout") ?? 0, useRslora: try fields.bool("use_rslora") ?? false)
        if let names = try? fields.array("target_modules") {
            lora.targetModules = .names(names.compactMap { $0.stringValue })
        } else if let pattern = try fields.string("target_modules") {
            lora.targetModules = pattern == "all-linear" ? .allLinear : .pattern(pattern)
        }
        modulesToSave = try fields.array("modules_to_save")?.compactMap { $0.stringValue } ?? []
        fanInFanOut = try fields.bool("fan_in_fan_out") ?? false
        if try fields.bool("use_dora") == true {
            throw fields.error("use_dora", "is true; DoRA adapters are not supported")
        }
        if let bias = try fields.string("bias"), bias != "none" {
            throw fields.error("bias", "is '\(bias)'; only adapters without LoRA biases (\"none\") are supported")
        }
        for key in ["rank_pattern", "alpha_pattern"]
        where try fields.object(key).map({ !$0.object.keys.isEmpty }) ?? false {
            throw fields.error(key, "sets per-module ranks or scales, which are not supported")
        }
    }

    /// The JSON PEFT writes (the keys of docs/formats.md §7.3).
    public var json: JSONValue {
        let targets: JSONValue
        switch lora.targetModules {
        case .names(let names): targets = .array(names.map(JSONValue.string))
        case .pattern(let pattern): targets = .string(pattern)
        case .allLinear: targets = "all-linear"
        case .familyDefault: targets = .null
        }
        return .object(
            JSONObject([
                ("peft_type", "LORA"), ("task_type", .string(taskType)),
                ("base_model_name_or_path", .string(baseModel)),
                ("revision", .null), ("r", .int(lora.r)), ("lora_alpha", .double(lora.alpha)),
                ("lora_dropout", .double(lora.dropout)),
                ("target_modules", targets), ("exclude_modules", .null), ("fan_in_fan_out", .bool(fanInFanOut)),
                ("bias", "none"),
                ("use_rslora", .bool(lora.useRslora)), ("use_dora", false),
                ("modules_to_save", modulesToSave.isEmpty ? .null : .array(modulesToSave.map(JSONValue.string))),
                ("init_lora_weights", true), ("layers_to_transform", .null), ("layers_pattern", .null),
                ("rank_pattern", .object(JSONObject())), ("alpha_pattern", .object(JSONObject())),
                ("inference_mode", true),
                ("lora_bias", false),
            ]))
    }

    /// Writes the config to `url` atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(json.serializedData(JSONLayout(indent: 2)), to: url)
    }
}
