import Core
import Datasets
import Formats
import Foundation
import Models
import Training

/// What `gputrain bench train` trains: a model configuration and the batch shape of one step,
/// from a named preset or a pretraining recipe, and the model FLOPs of a token.
public struct TrainBenchmarkShape: Equatable {
    /// The preset's name, or the recipe's run name.
    public var name: String
    /// The model (fresh Hugging Face initialisation).
    public var model: ModelConfig
    /// Sequences per step (B) and tokens per sequence (T).
    public var batchSize: Int
    public var sequenceLength: Int

    /// A shape of `model` with batches of `batchSize` sequences of `sequenceLength` tokens.
    public init(name: String, model: ModelConfig, batchSize: Int, sequenceLength: Int) throws {
        guard batchSize > 0, sequenceLength > 0 else {
            throw DeviceError.invalidArgument(
                operation: "bench train '\(name)'",
                message: "batch size \(batchSize) and sequence length \(sequenceLength) must be positive")
        }
        if let positions = model.family.learnedPositions(model), sequenceLength > positions {
            throw DeviceError.invalidArgument(
                operation: "bench train '\(name)'",
                message: "sequence length \(sequenceLength) exceeds the model's \(positions) learned positions")
        }
        self.name = name
        self.model = model
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
    }

    /// The model and batch shape of a pretraining recipe: its `model` section (or the
    /// `config.json` of `init_from`) and `train.batch_size` × `train.sequence_length` (one
    /// micro-batch: gradient accumulation only repeats it). The vocabulary is the prepared
    /// shards' when `data.shards` holds them, else `data.vocab_size`.
    public init(name: String, recipe: PretrainConfig) throws {
        let model: ModelConfig
        if !recipe.model.initFrom.isEmpty {
            model = try ModelConfig(
                contentsOf: URL(fileURLWithPath: recipe.model.initFrom).appendingPathComponent("config.json"))
        } else {
            model = try recipe.modelConfig(vocabSize: Self.vocabularySize(of: recipe), endOfText: 0)
        }
        try self.init(
            name: name, model: model, batchSize: recipe.train.batchSize, sequenceLength: recipe.train.sequenceLength)
    }

    /// The vocabulary a recipe trains with, without loading its shards.
    private static func vocabularySize(of recipe: PretrainConfig) -> Int {
        guard recipe.data.tinyWorld.isEmpty else { return recipe.data.vocabSize }
        let meta = URL(fileURLWithPath: recipe.data.shards).appendingPathComponent("meta.json")
        let prepared = (try? Data(contentsOf: meta)).flatMap {
            try? JSONDecoder().decode(PreparedDataset.Meta.self, from: $0)
        }
        return prepared?.vocabSize ?? recipe.data.vocabSize
    }

    // MARK: Presets

    /// The preset names, in the order `bench train` documents them.
    public static let presetNames = ["small", "llama-small", "gpt2-124M"]

    /// The preset called `name`: `small` (GPT-2, 6 layers, 6 heads, width 384, vocabulary
    /// 8192, T = 256, B = 8), `llama-small` (the same with Llama's blocks, SwiGLU width 1024, no
    /// grouped queries, untied head) or `gpt2-124M` (GPT-2 small, T = 64, B = 4); nil otherwise.
    public static func preset(_ name: String) -> TrainBenchmarkShape? {
        var recipe = PretrainConfig()
        recipe.model.layers = 6
        recipe.model.heads = 6
        recipe.model.hiddenSize = 384
        recipe.model.maxPositions = 256
        var (vocabulary, batchSize, sequenceLength) = (8192, 8, 256)
        switch name {
        case "small":
            recipe.model.type = .gpt2
        case "llama-small":
            recipe.model.type = .llama
            recipe.model.intermediateSize = 1024
            recipe.model.tieEmbeddings = false
        case "gpt2-124M":
            recipe.model.type = .gpt2
            recipe.model.layers = 12
            recipe.model.heads = 12
            recipe.model.hiddenSize = 768
            recipe.model.maxPositions = 1024
            (vocabulary, batchSize, sequenceLength) = (50257, 4, 64)
        default:
            return nil
        }
        let model = recipe.modelConfig(vocabSize: vocabulary, endOfText: 0)
        return try? TrainBenchmarkShape(name: name, model: model, batchSize: batchSize, sequenceLength: sequenceLength)
    }

    // MARK: FLOPs

    /// Tokens in one step (B·T).
    public var tokensPerStep: Int { batchSize * sequenceLength }

    /// Trainable parameters of the model.
    public var parameterCount: Int {
        ModelParameters.specs(for: model).reduce(0) { $0 + $1.count }
    }

    /// Parameters other than the token and position embeddings and the LM head.
    public var nonEmbeddingParameterCount: Int {
        ModelParameters.declarations(for: model).filter { $0.role != .embedding && $0.role != .head }.reduce(0) {
            $0 + $1.count
        }
    }

    /// Model FLOPs of one token's forward and backward pass: 6·N (N the non-embedding
    /// parameters: 2 per multiply-add forward, 4 backward), plus attention's 6·L·C·T (the
    /// causal half of the score and value products), plus the LM head's 6·V·C.
    public var flopsPerToken: Double {
        let (layers, width, vocabulary) = (Double(model.layerCount), Double(model.hiddenSize), Double(model.vocabSize))
        return 6 * Double(nonEmbeddingParameterCount) + 6 * layers * width * Double(sequenceLength) + 6 * vocabulary
            * width
    }
}
