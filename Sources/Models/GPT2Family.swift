import Formats
import Tensors

/// GPT-2 (docs/formats.md §3.1): learned positions, pre-LayerNorm blocks, GELU (tanh form), Conv1D
/// weights stored [in, out], biases everywhere. The forward pass is `GPT2Model`; the GGUF mapping
/// is in `GPT2Family+GGUF.swift`.
public struct GPT2Family: ModelFamily {
    public init() {}

    public var modelTypes: [ModelType] { [.gpt2] }

    /// GPT-2's parameters for one configuration, by their place in the forward pass, named as
    /// `GPT2LMHeadModel` saves them (`transformer.` prefix).
    struct Layout {
        /// A LayerNorm's scale and bias.
        struct LayerNorm {
            let weight: ParameterDeclaration
            let bias: ParameterDeclaration

            init(_ module: String, width: Int) {
                weight = ParameterDeclaration(module + ".weight", shape: [width], role: .normScale)
                bias = ParameterDeclaration(module + ".bias", shape: [width], role: .bias)
            }

            var all: [ParameterDeclaration] { [weight, bias] }
        }

        /// One transformer block.
        struct Block {
            /// `ln_1`, before attention.
            let attentionNorm: LayerNorm
            /// `attn.c_attn`: queries, keys and values side by side, [d, 3d].
            let attention: ProjectionParameters
            /// `attn.c_proj`.
            let attentionOutput: ProjectionParameters
            /// `ln_2`, before the MLP.
            let mlpNorm: LayerNorm
            /// `mlp.c_fc`.
            let up: ProjectionParameters
            /// `mlp.c_proj`.
            let down: ProjectionParameters

            init(_ prefix: String, _ config: ModelConfig) {
                let d = config.hiddenSize
                let inner = config.intermediateSize
                func conv1D(_ name: String, _ inputs: Int, _ outputs: Int, residual: Bool = false)
                    -> ProjectionParameters
                {
                    ProjectionParameters(
                        prefix + name, inputs: inputs, outputs: outputs, layout: .inputOutput, bias: true,
                        residual: residual)
                }
                attentionNorm = LayerNorm(prefix + "ln_1", width: d)
                attention = conv1D("attn.c_attn", d, 3 * d)
                attentionOutput = conv1D("attn.c_proj", d, d, residual: true)
                mlpNorm = LayerNorm(prefix + "ln_2", width: d)
                up = conv1D("mlp.c_fc", d, inner)
                down = conv1D("mlp.c_proj", inner, d, residual: true)
            }

            var all: [ParameterDeclaration] {
                attentionNorm.all + attention.all + attentionOutput.all + mlpNorm.all + up.all + down.all
            }
        }

        /// `wte`, also the LM head when it is tied.
        let tokenEmbedding: ParameterDeclaration
        /// `wpe`, one row per position.
        let positionEmbedding: ParameterDeclaration
        let blocks: [Block]
        /// `ln_f`.
        let finalNorm: LayerNorm

        init(_ config: ModelConfig) {
            let d = config.hiddenSize
            tokenEmbedding = ParameterDeclaration(
                "transformer.wte.weight", shape: [config.vocabSize, d], role: .embedding)
            positionEmbedding = ParameterDeclaration(
                "transformer.wpe.weight", shape: [config.maxPositions, d], role: .embedding)
            blocks = (0..<config.layerCount).map { Block("transformer.h.\($0).", config) }
            finalNorm = LayerNorm("transformer.ln_f", width: d)
        }

        /// Every parameter, in checkpoint order.
        var all: [ParameterDeclaration] {
            [tokenEmbedding, positionEmbedding] + blocks.flatMap(\.all) + finalNorm.all
        }
    }

    public func backbone(_ config: ModelConfig) -> [ParameterDeclaration] { Layout(config).all }

    public func makeModel(config: ModelConfig, parameters: ParameterStore, adapters: LoRAAdapters?) throws
        -> LanguageModel
    {
        try GPT2Model(config: config, parameters: parameters, adapters: adapters)
    }

    /// The key itself, or without `transformer.` (files saved from the bare `GPT2Model`, like the
    /// Hub's `gpt2`; docs/formats.md §3.1).
    public func checkpointKeys(for name: String) -> [String] {
        let prefix = "transformer."
        return name.hasPrefix(prefix) ? [name, String(name.dropFirst(prefix.count))] : [name]
    }

    /// The causal-mask buffers `attn.bias` and `attn.masked_bias` of older transformers versions.
    public func isBuffer(_ key: String) -> Bool {
        key.hasSuffix(".attn.bias") || key.hasSuffix(".attn.masked_bias")
    }

    /// `initializer_range`, divided by √(2·layers) for the projections that write into the
    /// residual stream (both `c_proj`), as `GPT2PreTrainedModel._init_weights` does.
    public func initialStandardDeviation(of parameter: ParameterDeclaration, config: ModelConfig) -> Float {
        let std = Float(config.initializerRange)
        guard case .projection(_, residual: true) = parameter.role else { return std }
        return std / Float(2 * config.layerCount).squareRoot()
    }

    /// 4·hidden (`n_inner` left out).
    public func defaultIntermediateSize(hiddenSize: Int) -> Int { 4 * hiddenSize }

    /// `n_positions`: the rows of `wpe`.
    public func learnedPositions(_ config: ModelConfig) -> Int? { config.maxPositions }

    /// PEFT adapts the fused query/key/value projection.
    public var defaultLoRATargets: [String] { ["c_attn"] }

    public func activationsPerTokenPerLayer(_ config: ModelConfig) -> Int {
        // ln_1, c_attn (q|k|v), attention output, c_proj, residual, ln_2, c_fc, gelu, mlp c_proj, residual.
        9 * config.hiddenSize + 2 * config.intermediateSize
    }
}
