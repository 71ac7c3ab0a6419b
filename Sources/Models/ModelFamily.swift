import Formats
import Tensors

/// A transformer layout and everything about it that differs between layouts: the parameters
/// (declared once, with their Hugging Face names, shapes and roles), the forward pass that reads
/// them, and what checkpoints, initialisation, LoRA, memory estimates and GGUF export need to
/// know about it (docs/formats.md §3).
///
/// Each family lives in files named after it (`GPT2*.swift`, `Llama*.swift`); code elsewhere asks
/// `config.family` rather than testing which family a model is.
public protocol ModelFamily: Sendable {
    /// The `config.json` model types this family builds.
    var modelTypes: [ModelType] { get }

    // MARK: Parameters and forward pass

    /// Every parameter from the embeddings to the final norm (what a sequence-classification model
    /// shares with the causal LM), in checkpoint order, which is also their order in the flat
    /// parameter buffer.
    func backbone(_ config: ModelConfig) -> [ParameterDeclaration]

    /// The model of `config` over `parameters`, which hold the `backbone(config)` parameters (and
    /// `adapters`' weights, if given).
    func makeModel(config: ModelConfig, parameters: ParameterStore, adapters: LoRAAdapters?) throws -> LanguageModel

    // MARK: Checkpoints

    /// The keys a checkpoint may hold parameter `name` under, preferred first.
    func checkpointKeys(for name: String) -> [String]

    /// Whether checkpoint key `key` is a buffer transformers saves beside the parameters
    /// (docs/formats.md §1.6, §3.2), which loading skips.
    func isBuffer(_ key: String) -> Bool

    // MARK: Fresh models

    /// The standard deviation transformers' `_init_weights` draws `parameter` (an embedding,
    /// head or projection of `config`'s model) from (docs/formats.md §3.6).
    func initialStandardDeviation(of parameter: ParameterDeclaration, config: ModelConfig) -> Float

    /// The MLP width of a fresh model of width `hiddenSize` whose recipe leaves it out.
    func defaultIntermediateSize(hiddenSize: Int) -> Int

    /// How many positions the parameters can tell apart (GPT-2's learned position table), which
    /// bounds the sequence length; nil when positions are computed (rotary) and have no such bound.
    func learnedPositions(_ config: ModelConfig) -> Int?

    // MARK: LoRA

    /// PEFT's `target_modules` when a recipe asks for the default (docs/formats.md §7.2).
    var defaultLoRATargets: [String] { get }

    // MARK: Memory

    /// Floats one token keeps per layer in a forward pass that records the tape (see `MemoryEstimate`).
    func activationsPerTokenPerLayer(_ config: ModelConfig) -> Int

    // MARK: GGUF

    /// How `config`'s model maps onto a llama.cpp architecture (docs/formats.md §5.4, §5.6);
    /// settings llama.cpp cannot express are errors naming them, with `fileName` the export's path.
    func ggufArchitecture(for config: ModelConfig, fileName: String) throws -> GGUFArchitecture
}

/// The families gputrain builds, by the model types each declares.
private let familiesByType: [ModelType: any ModelFamily] = {
    let families: [any ModelFamily] = [GPT2Family(), LlamaFamily()]
    return Dictionary(uniqueKeysWithValues: families.flatMap { family in family.modelTypes.map { ($0, family) } })
}()

extension ModelType {
    /// The family that builds models of this type.
    public var family: any ModelFamily {
        guard let family = familiesByType[self] else {
            preconditionFailure("no model family builds model_type \(rawValue)")
        }
        return family
    }
}

extension ModelConfig {
    /// The family that builds this model.
    public var family: any ModelFamily { modelType.family }
}
