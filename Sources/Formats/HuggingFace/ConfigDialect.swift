/// How one family of `model_type`s spells `config.json`: its transformers class names, the
/// class defaults for keys a file leaves out, and the keys it reads and writes
/// (docs/formats.md §3). Each family's dialect lives in its own file (`GPT2ConfigDialect.swift`,
/// `LlamaConfigDialect.swift`, the latter with its Qwen2 and Mistral variants); nothing else
/// branches on the model type.
protocol ConfigDialect: Sendable {
    /// The `model_type`s it spells.
    var modelTypes: [ModelType] { get }
    /// The causal-LM class transformers instantiates for `type`.
    func causalLMArchitecture(of type: ModelType) -> String
    /// The sequence-classification class transformers instantiates for `type`.
    func sequenceClassificationArchitecture(of type: ModelType) -> String
    /// The config class's defaults for `type`.
    func defaults(for type: ModelType) -> ModelConfig
    /// The MLP width when none is given, for a model of width `hiddenSize` whose class defaults
    /// are `config`.
    func intermediateSize(default config: ModelConfig, hiddenSize: Int) -> Int
    /// Reads the family's own keys of `fields` into `config` (the shared keys are already read).
    func read(_ fields: JSONFields, into config: inout ModelConfig) throws
    /// Writes the family's own keys of `config` into `object`; throws when the config has
    /// something the family's class cannot express.
    func write(_ config: ModelConfig, into object: inout JSONObject) throws
}

/// The dialects, by the model types each declares.
private let dialectsByType: [ModelType: any ConfigDialect] = {
    let dialects: [any ConfigDialect] = [GPT2ConfigDialect(), LlamaConfigDialect()]
    return Dictionary(uniqueKeysWithValues: dialects.flatMap { dialect in dialect.modelTypes.map { ($0, dialect) } })
}()

extension ModelType {
    /// How this type spells `config.json`.
    var dialect: any ConfigDialect {
        guard let dialect = dialectsByType[self] else {
            preconditionFailure("no config dialect declares model_type \(rawValue)")
        }
        return dialect
    }
}
