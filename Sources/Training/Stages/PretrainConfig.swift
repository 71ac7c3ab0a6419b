import Core
import Datasets
import Formats
import Models
import TinyWorld

/// The pretraining recipe (`configs/*-pretrain.yaml`): one section per concern. Every key has a
/// default, so a file states only what it changes; unknown keys and wrong types are errors.
public struct PretrainConfig: Configuration, Equatable {
    /// Where the run goes.
    public typealias Run = RunSettings

    /// The model: built fresh from these sizes, or loaded from `init_from`.
    public struct Model: Codable, Equatable {
        /// A Hugging Face model folder to start from; empty trains from scratch.
        public var initFrom = ""
        /// The family of a fresh model.
        public var type = FreshModelType.gpt2
        public var hiddenSize = 128
        public var layers = 4
        public var heads = 4
        /// Key/value heads (grouped-query attention); 0 means as many as `heads`.
        public var keyValueHeads = 0
        /// MLP width; 0 means the family's default (`ModelFamily.defaultIntermediateSize`): 4·hidden
        /// for GPT-2, 8/3·hidden (rounded up to 32) for Llama.
        public var intermediateSize = 0
        public var maxPositions = 256
        public var tieEmbeddings = true
        public var ropeTheta = 10000.0
    }

    /// The data: a folder written by `gputrain data prepare`, or the tiny world made on first use.
    public struct Data: Codable, Equatable {
        /// The prepared token shards.
        public var shards = "runs/tiny-world-data/tokens"
        /// Knowledge probes (JSONL of prompt/answer) to run on the final model; empty skips them.
        public var probes = "runs/tiny-world-data/world/probes.jsonl"
        /// When set, the tiny world, its tokenizer and `shards` are generated under this folder
        /// of `run.out` if missing (`shards` and `probes` then point inside it): a relative path
        /// without `..`, so the data a recipe makes stays inside `run.out`.
        public var tinyWorld = ""
        /// Size preset of a generated tiny world.
        public var tinyWorldSize = TinyWorldSizeName.standard
        /// Vocabulary of the tokenizer trained for a generated tiny world.
        public var vocabSize = 1024
    }

    /// The loop.
    public struct Train: Codable, Equatable {
        public var batchSize = 8
        public var sequenceLength = 128
        /// Micro-batches per optimizer step (the loss is averaged over all their tokens).
        public var gradientAccumulation = 1
        public var steps = 1000
        /// Evaluate validation loss every this many steps (and at the end); 0 turns it off.
        public var evalEvery = 100
        /// Validation batches per evaluation.
        public var evalBatches = 8
        /// Write a checkpoint every this many steps (and at the end).
        public var checkpointEvery = 200
        public var seed = 1234
        /// What a step with a non-finite loss or gradient norm does: `stop` the run (after
        /// checkpointing the last finite state) or `skip` it.
        public var onNonfinite = NonFinitePolicy.stop
        /// With `skip`, the most non-finite steps in a row before the run stops anyway.
        public var maxSkippedSteps = 5
        /// Checkpoints kept, the newest ones (older ones are removed as new ones are written); 0 keeps all.
        public var keepCheckpoints = 3
        /// Also keep the checkpoint with the lowest validation loss.
        public var keepBest = false
        /// Dropout on embeddings and residual branches while training.
        public var dropout = 0.0
    }

    /// AdamW and its schedule.
    public typealias Optim = OptimizerSettings

    public var run = Run()
    public var model = Model()
    public var data = Data()
    public var train = Train()
    public var optim = Optim()
    /// The device (`gputrain devices`); empty picks the default.
    public var device = ""
    /// The kernel variants (`auto`, `cpu`, `gpu`); empty leaves it to `GPUTRAIN_KERNELS`, else `auto`.
    public var kernels = ""

    public init() {}

    /// The range checks of every section, and how the sizes relate.
    public func validate() throws {
        try run.validate()
        try KernelVariant.requireRecipeValue(kernels)
        try train.validateSchedule(batchSize: train.batchSize, gradientAccumulation: train.gradientAccumulation)
        try ConfigError.require(
            (2...Self.maxSize).contains(train.sequenceLength), "train.sequence_length", train.sequenceLength,
            mustBe: "in 2…\(Self.maxSize)")
        try ConfigError.require(train.evalBatches >= 1, "train.eval_batches", train.evalBatches, mustBe: "at least 1")
        try ConfigError.require((0..<1).contains(train.dropout), "train.dropout", train.dropout, mustBe: "in [0, 1)")
        try optim.validate()
        try ConfigError.require(
            data.tinyWorld.isEmpty || RunSettings.isInsideRunsFolder(data.tinyWorld), "data.tiny_world",
            "'\(data.tinyWorld)'", mustBe: "a folder relative to run.out, without '..'")
        try ConfigError.require(
            (2...Self.maxSize).contains(data.vocabSize), "data.vocab_size", data.vocabSize,
            mustBe: "in 2…\(Self.maxSize)")
        guard model.initFrom.isEmpty else { return }
        func size(_ value: Int, _ key: String) throws {
            try ConfigError.require((1...Self.maxSize).contains(value), key, value, mustBe: "in 1…\(Self.maxSize)")
        }
        try size(model.hiddenSize, "model.hidden_size")
        try size(model.layers, "model.layers")
        try size(model.heads, "model.heads")
        try size(model.maxPositions, "model.max_positions")
        try ConfigError.require(
            model.hiddenSize % model.heads == 0, "model.heads", model.heads,
            mustBe: "a divisor of model.hidden_size (\(model.hiddenSize))")
        try ConfigError.require(
            model.keyValueHeads == 0 || (model.keyValueHeads > 0 && model.heads % model.keyValueHeads == 0),
            "model.key_value_heads", model.keyValueHeads,
            mustBe: "0 (as many as heads) or a divisor of model.heads (\(model.heads))")
        try ConfigError.require(
            (0...Self.maxSize).contains(model.intermediateSize), "model.intermediate_size", model.intermediateSize,
            mustBe: "0 (the family's default) or up to \(Self.maxSize)")
        try ConfigError.require(
            model.ropeTheta > 0 && model.ropeTheta.isFinite, "model.rope_theta", model.ropeTheta,
            mustBe: "a positive number")
        try ConfigError.require(
            train.sequenceLength <= model.maxPositions, "train.sequence_length", train.sequenceLength,
            mustBe: "at most model.max_positions (\(model.maxPositions))")
    }

    /// The largest size any recipe count may take (widths, layers, positions, vocabulary): far
    /// above any model gputrain can hold, and small enough that products of sizes cannot overflow.
    static let maxSize = 1 << 20

    /// The Hugging Face configuration of a fresh model with `vocabSize` rows.
    public func modelConfig(vocabSize: Int, endOfText: Int) -> ModelConfig {
        let type = model.type.modelType
        let intermediate =
            model.intermediateSize > 0
            ? model.intermediateSize
            : type.family.defaultIntermediateSize(hiddenSize: model.hiddenSize)
        var config = ModelConfig(
            modelType: type, vocabSize: vocabSize, hiddenSize: model.hiddenSize, layerCount: model.layers,
            headCount: model.heads, keyValueHeadCount: model.keyValueHeads > 0 ? model.keyValueHeads : model.heads,
            intermediateSize: intermediate, maxPositions: model.maxPositions, tieWordEmbeddings: model.tieEmbeddings,
            bosTokenID: endOfText, eosTokenIDs: [endOfText])
        config.ropeTheta = model.ropeTheta
        return config
    }
}

/// The families pretraining builds from scratch (`model.type`); Qwen2 and Mistral models are
/// Llama layouts that come from a Hugging Face folder (`init_from`).
public enum FreshModelType: String, ConfigChoice {
    case gpt2, llama

    /// The `config.json` model type of a model of this family (each case is named after it).
    public var modelType: ModelType { ModelType(rawValue: rawValue)! }
}

/// The tiny world's size presets (`data.tiny_world_size`, the pipeline's `data.size`).
public enum TinyWorldSizeName: String, ConfigChoice {
    case smoke, standard, large

    /// The preset's counts.
    public var size: TinyWorldSize {
        switch self {
        case .smoke: return .smoke
        case .standard: return .standard
        case .large: return .large
        }
    }
}
