import Formats
import Tensors

/// The Llama layout (docs/formats.md §3.2–3.4), which Qwen2 and Mistral share: RMSNorm, rotary
/// positions, SwiGLU, grouped-query attention, `nn.Linear` projections, tied or untied head.
/// The variants differ in settings `ModelConfig` reads (Qwen2's q/k/v biases, Mistral's sliding
/// window) and in their llama.cpp architecture. The forward pass is `LlamaModel`; the GGUF mapping
/// is in `LlamaFamily+GGUF.swift`.
public struct LlamaFamily: ModelFamily {
    public init() {}

    public var modelTypes: [ModelType] { [.llama, .qwen2, .mistral] }

    /// The parameters for one configuration, by their place in the forward pass, named as
    /// `LlamaForCausalLM` saves them (`model.` prefix; weights [out, in]).
    struct Layout {
        /// One transformer block.
        struct Block {
            /// `input_layernorm`'s scale, before attention.
            let attentionNorm: ParameterDeclaration
            let query: ProjectionParameters
            let key: ProjectionParameters
            let value: ProjectionParameters
            /// `o_proj`.
            let output: ProjectionParameters
            /// `post_attention_layernorm`'s scale, before the MLP.
            let mlpNorm: ParameterDeclaration
            let gate: ProjectionParameters
            let up: ProjectionParameters
            let down: ProjectionParameters

            init(_ prefix: String, _ c: ModelConfig) {
                let d = c.hiddenSize
                let dh = c.headDimension
                let inner = c.intermediateSize
                func linear(_ name: String, _ inputs: Int, _ outputs: Int, bias: Bool, residual: Bool = false)
                    -> ProjectionParameters
                {
                    ProjectionParameters(
                        prefix + name, inputs: inputs, outputs: outputs, layout: .outputInput, bias: bias,
                        residual: residual)
                }
                attentionNorm = ParameterDeclaration(prefix + "input_layernorm.weight", shape: [d], role: .normScale)
                query = linear("self_attn.q_proj", d, c.headCount * dh, bias: c.queryKeyValueBias)
                key = linear("self_attn.k_proj", d, c.keyValueHeadCount * dh, bias: c.queryKeyValueBias)
                value = linear("self_attn.v_proj", d, c.keyValueHeadCount * dh, bias: c.queryKeyValueBias)
                output = linear("self_attn.o_proj", c.headCount * dh, d, bias: c.attentionOutputBias, residual: true)
                mlpNorm = ParameterDeclaration(prefix + "post_attention_layernorm.weight", shape: [d], role: .normScale)
                gate = linear("mlp.gate_proj", d, inner, bias: c.mlpBias)
                up = linear("mlp.up_proj", d, inner, bias: c.mlpBias)
                down = linear("mlp.down_proj", inner, d, bias: c.mlpBias, residual: true)
            }

            /// The block's parameters in gputrain's checkpoint order, which fixes their place in the
            /// flat parameter buffer: the input norm, the seven projections, the post-attention norm.
            var all: [ParameterDeclaration] {
                [attentionNorm] + query.all + key.all + value.all + output.all + gate.all + up.all + down.all + [
                    mlpNorm
                ]
            }
        }

        /// `embed_tokens`, also the LM head when it is tied.
        let tokenEmbedding: ParameterDeclaration
        let blocks: [Block]
        /// `norm`'s scale.
        let finalNorm: ParameterDeclaration

        init(_ config: ModelConfig) {
            tokenEmbedding = ParameterDeclaration(
                "model.embed_tokens.weight", shape: [config.vocabSize, config.hiddenSize], role: .embedding)
            blocks = (0..<config.layerCount).map { Block("model.layers.\($0).", config) }
            finalNorm = ParameterDeclaration("model.norm.weight", shape: [config.hiddenSize], role: .normScale)
        }

        /// Every parameter, in checkpoint order.
        var all: [ParameterDeclaration] { [tokenEmbedding] + blocks.flatMap(\.all) + [finalNorm] }
    }

    public func backbone(_ config: ModelConfig) -> [ParameterDeclaration] { Layout(config).all }

    public func makeModel(config: ModelConfig, parameters: ParameterStore, adapters: LoRAAdapters?) throws
        -> LanguageModel
    {
        try LlamaModel(config: config, parameters: parameters, adapters: adapters)
    }

    public func checkpointKeys(for name: String) -> [String] { [name] }

    /// The rotary inverse frequencies some conversions save (`rotary_emb.inv_freq`).
    public func isBuffer(_ key: String) -> Bool { key.hasSuffix("rotary_emb.inv_freq") }

    /// `initializer_range` for every matrix (`LlamaPreTrainedModel._init_weights`).
    public func initialStandardDeviation(of parameter: ParameterDeclaration, config: ModelConfig) -> Float {
        Float(config.initializerRange)
    }

    /// 8/3·hidden rounded up to a multiple of 32: SwiGLU's three matrices then hold about as many
    /// parameters as GPT-2's two of 4·hidden.
    public func defaultIntermediateSize(hiddenSize: Int) -> Int { (8 * hiddenSize / 3 + 31) / 32 * 32 }

    /// None: rotary positions.
    public func learnedPositions(_ config: ModelConfig) -> Int? { nil }

    /// PEFT adapts the query and value projections.
    public var defaultLoRATargets: [String] { ["q_proj", "v_proj"] }

    public func activationsPerTokenPerLayer(_ config: ModelConfig) -> Int {
        let d = config.hiddenSize
        let inner = config.intermediateSize
        let query = config.headCount * config.headDimension
        let keyValue = config.keyValueHeadCount * config.headDimension
        // norm, o_proj, residual, norm, down, residual; rotated q, attention output; rotated k, v;
        // gate, silu, up, gate⊙up.
        return 6 * d + 2 * query + 2 * keyValue + 4 * inner
    }
}
