import Foundation

/// The `model_type` values gputrain can build (docs/formats.md §3). Which layout builds each is
/// the Models module's business (`ModelType.family`).
public enum ModelType: String, CaseIterable, Sendable {
    case gpt2
    case llama
    case qwen2
    case mistral

    /// The causal-LM class transformers instantiates for this type.
    public var causalLMArchitecture: String { dialect.causalLMArchitecture(of: self) }

    /// The sequence-classification class transformers instantiates for this type (reward and
    /// value models, docs/formats.md §3.7).
    public var sequenceClassificationArchitecture: String { dialect.sequenceClassificationArchitecture(of: self) }

    /// Every `architectures` entry gputrain can build: the causal LM and the sequence classifier of
    /// each supported type.
    public static var supportedArchitectures: [String] {
        allCases.map(\.causalLMArchitecture) + allCases.map(\.sequenceClassificationArchitecture)
    }
}

/// A Hugging Face `config.json` for a GPT-2 or Llama-family causal LM, with every default filled
/// in as the matching transformers config class would (docs/formats.md §3.1–3.3).
public struct ModelConfig: Equatable, Sendable {
    public var modelType: ModelType
    /// `architectures`, e.g. `["LlamaForCausalLM"]`.
    public var architectures: [String]
    /// Embedding rows (may exceed the tokenizer's vocabulary).
    public var vocabSize: Int
    /// Model width d (`n_embd` / `hidden_size`).
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    /// Key/value heads (GQA); equals `headCount` for GPT-2 and for Llama configs without the key.
    public var keyValueHeadCount: Int
    /// Per-head width (`head_dim`, default `hiddenSize / headCount`).
    public var headDimension: Int
    /// MLP width (`n_inner` default 4·d for GPT-2; `intermediate_size` for Llama).
    public var intermediateSize: Int
    /// Longest sequence (`n_positions` / `max_position_embeddings`).
    public var maxPositions: Int
    /// LayerNorm (`layer_norm_epsilon`) or RMSNorm (`rms_norm_eps`) epsilon.
    public var normEpsilon: Double
    /// `activation_function` (GPT-2, `gelu_new`) or `hidden_act` (Llama, `silu`).
    public var activation: String
    /// RoPE base θ (Llama family only).
    public var ropeTheta: Double
    /// RoPE frequency scaling, `nil` for plain RoPE.
    public var ropeScaling: RopeScaling?
    /// Whether the LM head shares the token embedding (docs/formats.md §3.5).
    public var tieWordEmbeddings: Bool
    /// Biases on the query/key/value projections (GPT-2 and Qwen2 always; Llama if `attention_bias`).
    public var queryKeyValueBias: Bool
    /// Bias on the attention output projection (GPT-2 always; Llama if `attention_bias`; never Qwen2).
    public var attentionOutputBias: Bool
    /// Biases in the MLP (GPT-2 always; Llama if `mlp_bias`).
    public var mlpBias: Bool
    public var bosTokenID: Int?
    /// End-of-sequence ids (`eos_token_id` may be one id or a list).
    public var eosTokenIDs: [Int]
    public var padTokenID: Int?
    /// Standard deviation of the normal weight initialisation.
    public var initializerRange: Double
    /// Dropout on attention probabilities (`attn_pdrop` / `attention_dropout`).
    public var attentionDropout: Double
    /// Dropout on residual branches (`resid_pdrop`; 0 for Llama).
    public var residualDropout: Double
    /// Dropout on the embeddings (`embd_pdrop`; 0 for Llama).
    public var embeddingDropout: Double
    /// Sliding-window attention span when active (Mistral `sliding_window`, Qwen2 when
    /// `use_sliding_window`); `nil` = full causal attention.
    public var slidingWindow: Int?
    /// GPT-2 `scale_attn_weights`: divide scores by √d_h.
    public var scaleAttentionWeights: Bool
    /// GPT-2 `scale_attn_by_inverse_layer_idx`: also divide scores by (layer index + 1).
    public var scaleAttentionByInverseLayerIndex: Bool
    /// The stored weight type (`torch_dtype` / `dtype`), e.g. `float32` or `bfloat16`.
    public var dtype: String?
    /// Outputs of a sequence-classification head (`num_labels`, or the size of `id2label`); 1 for
    /// reward and value models (docs/formats.md §3.7), `nil` when the config does not say.
    public var labelCount: Int?

    /// The longest sequence gputrain computes exactly as transformers does: `maxPositions`, or
    /// the sliding window when it is shorter (full causal attention over at most `slidingWindow`
    /// tokens equals sliding-window attention; gputrain has no windowed attention beyond that).
    public var contextLength: Int { min(maxPositions, slidingWindow ?? maxPositions) }

    /// The id generation should stop on first (the first of `eosTokenIDs`).
    public var eosTokenID: Int? { eosTokenIDs.first }

    /// A configuration with transformers' defaults for `modelType`, overridden by the arguments.
    /// `keyValueHeadCount`, `headDimension` and `intermediateSize` default from the others; the
    /// special token ids come from the caller's tokenizer (the class defaults belong to other vocabularies).
    public init(
        modelType: ModelType, vocabSize: Int, hiddenSize: Int, layerCount: Int, headCount: Int,
        keyValueHeadCount: Int? = nil, headDimension: Int? = nil, intermediateSize: Int? = nil,
        maxPositions: Int, tieWordEmbeddings: Bool? = nil,
        bosTokenID: Int? = nil, eosTokenIDs: [Int] = [], padTokenID: Int? = nil
    ) {
        var config = ModelConfig.defaults(for: modelType)
        config.vocabSize = vocabSize
        config.hiddenSize = hiddenSize
        config.layerCount = layerCount
        config.headCount = headCount
        config.keyValueHeadCount = keyValueHeadCount ?? headCount
        config.headDimension = headDimension ?? hiddenSize / max(headCount, 1)
        config.intermediateSize =
            intermediateSize ?? modelType.dialect.intermediateSize(default: config, hiddenSize: hiddenSize)
        config.maxPositions = maxPositions
        config.tieWordEmbeddings = tieWordEmbeddings ?? config.tieWordEmbeddings
        config.bosTokenID = bosTokenID
        config.eosTokenIDs = eosTokenIDs
        config.padTokenID = padTokenID
        self = config
    }

    /// Memberwise storage, used by the defaults table and the JSON reader.
    init(
        modelType: ModelType, architectures: [String], vocabSize: Int, hiddenSize: Int, layerCount: Int,
        headCount: Int, keyValueHeadCount: Int, headDimension: Int, intermediateSize: Int, maxPositions: Int,
        normEpsilon: Double, activation: String, ropeTheta: Double, tieWordEmbeddings: Bool,
        bias: (queryKeyValue: Bool, output: Bool, mlp: Bool), bosTokenID: Int?, eosTokenIDs: [Int],
        dropout: (attention: Double, residual: Double, embedding: Double), slidingWindow: Int?
    ) {
        self.modelType = modelType
        self.architectures = architectures
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.keyValueHeadCount = keyValueHeadCount
        self.headDimension = headDimension
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.normEpsilon = normEpsilon
        self.activation = activation
        self.ropeTheta = ropeTheta
        self.ropeScaling = nil
        self.tieWordEmbeddings = tieWordEmbeddings
        self.queryKeyValueBias = bias.queryKeyValue
        self.attentionOutputBias = bias.output
        self.mlpBias = bias.mlp
        self.bosTokenID = bosTokenID
        self.eosTokenIDs = eosTokenIDs
        self.padTokenID = nil
        self.initializerRange = 0.02
        self.attentionDropout = dropout.attention
        self.residualDropout = dropout.residual
        self.embeddingDropout = dropout.embedding
        self.slidingWindow = slidingWindow
        self.scaleAttentionWeights = true
        self.scaleAttentionByInverseLayerIndex = false
        self.dtype = nil
        self.labelCount = nil
    }

    /// The values transformers' `GPT2Config`, `LlamaConfig`, `Qwen2Config` and `MistralConfig` use
    /// for keys a file leaves out.
    public static func defaults(for modelType: ModelType) -> ModelConfig {
        modelType.dialect.defaults(for: modelType)
    }
}
