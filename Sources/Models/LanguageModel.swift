import Core
import Formats
import Tensors

/// A batch of token sequences as a model reads it: ids [batch, length] row-major, and
/// optionally each token's position and the attention masks (padding, packed documents).
public struct TokenBatch {
    public var ids: IntTensor
    public var batch: Int
    public var length: Int
    /// Position of each token ([batch·length]); `nil` means 0, 1, … in every row (continuing
    /// after the cached positions when a key/value cache is given).
    public var positions: IntTensor?
    public var masks: AttentionMasks

    public init(ids: IntTensor, batch: Int, length: Int, positions: IntTensor? = nil, masks: AttentionMasks = .none) {
        self.ids = ids
        self.batch = batch
        self.length = length
        self.positions = positions
        self.masks = masks
    }

    /// The positions to use: the given ones (their caller keeps them inside the model, as the
    /// generator does for left-padded rows), or start … start+length−1 in every row, which must
    /// stay inside the model's `limit` positions: a learned position table could not look them
    /// up and rotary embeddings were never trained on them.
    func resolvedPositions(start: Int = 0, limit: Int) throws -> IntTensor {
        if let positions { return positions }
        guard start + length <= limit else {
            throw DeviceError.invalidArgument(
                operation: "positions",
                message: "a sequence of \(start + length) tokens runs past the model's \(limit) positions "
                    + "(max_position_embeddings); use sequences of at most \(limit) tokens")
        }
        let row = (start..<(start + length)).map(Int32.init)
        return try IntTensor(
            device: ids.device, shape: [batch * length],
            values: Array((0..<batch).map { _ in row }.joined()), label: "positions")
    }
}

/// Dropout during training: the probability and the seed of this step's masks.
public struct DropoutSettings: Sendable {
    public var probability: Float
    public var seed: UInt64

    public init(probability: Float, seed: UInt64) {
        self.probability = probability
        self.seed = seed
    }
}

/// A causal language model: token ids in, next-token logits out. Written only against the
/// tensor API, so it runs on every device.
public protocol LanguageModel: AnyObject {
    /// The Hugging Face configuration it was built from.
    var config: ModelConfig { get }
    /// Its parameters, named by their checkpoint keys.
    var parameters: ParameterStore { get }
    /// Its LoRA adapters (their weights are in `parameters`), if it is being fine-tuned with LoRA.
    var adapters: LoRAAdapters? { get }
    /// The final hidden states [batch·length, hidden] (before the LM head) of `batch`'s tokens.
    ///
    /// With a `cache`, the tokens follow the cached positions: they attend to them too, their
    /// default positions continue from `cache.length`, their keys and values are appended, and
    /// `batch.masks.keyValid` (if any) covers cached and new keys, [batch, cache.length + length].
    func hiddenStates(_ batch: TokenBatch, dropout: DropoutSettings?, cache: KeyValueCache?) throws -> Tensor
    /// The LM head's logits [rows, vocab] for hidden states [rows, hidden].
    func logits(fromHidden hidden: Tensor) throws -> Tensor
}

extension LanguageModel {
    /// The final hidden states [batch·length, hidden] of a whole sequence (no cache).
    public func hiddenStates(_ batch: TokenBatch, dropout: DropoutSettings?) throws -> Tensor {
        try hiddenStates(batch, dropout: dropout, cache: nil)
    }

    /// Logits [batch·length, vocab] for every position of `batch`.
    public func logits(_ batch: TokenBatch, dropout: DropoutSettings? = nil) throws -> Tensor {
        try logits(fromHidden: hiddenStates(batch, dropout: dropout))
    }

    /// `projection` of a block applied to rows `x`: its weight, its bias when it has one, plus
    /// its LoRA adapter's contribution when it has one.
    func project(_ x: Tensor, _ projection: ProjectionParameters) throws -> Tensor {
        let base = try Tensor.linear(
            x, weight: parameters.tensor(projection.weight.name),
            bias: projection.bias.map { try parameters.tensor($0.name) }, layout: projection.layout)
        guard let delta = try adapters?.delta(x, module: projection.module, parameters: parameters) else { return base }
        return try base + delta
    }

    /// The weight of the LM head: `lm_head.weight`, or the token `embedding` when tied.
    func headWeight(embedding: ParameterDeclaration) throws -> Tensor {
        try parameters.tensor(config.tieWordEmbeddings ? embedding.name : ModelParameters.headName)
    }
}

/// Builds the model of `config`'s family over `parameters` (which hold `adapters`' weights too, if given).
public func makeLanguageModel(config: ModelConfig, parameters: ParameterStore, adapters: LoRAAdapters? = nil) throws
    -> LanguageModel
{
    try config.family.makeModel(config: config, parameters: parameters, adapters: adapters)
}

extension Tensor {
    /// Dropout when `settings` is given (each call site mixes in its own `stream` so that masks
    /// differ between layers), otherwise the tensor itself.
    func dropout(_ settings: DropoutSettings?, stream: UInt64) throws -> Tensor {
        guard let settings, settings.probability > 0 else { return self }
        return try dropout(probability: settings.probability, seed: settings.seed &+ stream &* 0x9E37_79B9_7F4A_7C15)
    }
}
