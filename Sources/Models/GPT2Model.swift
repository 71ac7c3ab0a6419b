import Core
import Formats
import Tensors

/// GPT-2 (docs/formats.md §3.1): learned positions, pre-LayerNorm blocks, GELU (tanh form), Conv1D
/// weights stored [in, out], biases everywhere, the LM head tied to the token embedding.
public final class GPT2Model: LanguageModel {
    public let config: ModelConfig
    public let parameters: ParameterStore
    public let adapters: LoRAAdapters?

    public init(config: ModelConfig, parameters: ParameterStore, adapters: LoRAAdapters? = nil) throws {
        self.config = config
        self.parameters = parameters
        self.adapters = adapters
        try ModelParameters.requireComplete(parameters, for: config, model: "GPT2Model")
    }

    private func p(_ name: String) throws -> Tensor { try parameters.tensor(name) }

    /// A `Conv1D` projection ([in, out] weight and a bias), with its LoRA adapter if any.
    private func conv1D(_ x: Tensor, _ module: String) throws -> Tensor {
        try project(x, module: module, bias: true, layout: .inputOutput)
    }

    public func hiddenStates(_ batch: TokenBatch, dropout: DropoutSettings?, cache: KeyValueCache?) throws -> Tensor {
        let d = config.hiddenSize, heads = config.headCount, dh = d / heads
        let start = try cache?.positionOfNext(batch, config: config) ?? 0
        let tokens = try Tensor.embedding(p("transformer.wte.weight"), ids: batch.ids)
        let positions = try Tensor.embedding(p("transformer.wpe.weight"), ids: batch.resolvedPositions(start: start))
        var x = try (tokens + positions).dropout(dropout, stream: 0)
        for layer in 0..<config.layerCount {
            let prefix = "transformer.h.\(layer)."
            let h = try x.layerNorm(weight: p(prefix + "ln_1.weight"), bias: p(prefix + "ln_1.bias"), epsilon: Float(config.normEpsilon))
            let qkv = try conv1D(h, prefix + "attn.c_attn")
            let parts = try qkv.split(sizes: [d, d, d]).map { try $0.reshaped([batch.batch, batch.length, heads, dh]) }
            var scale: Float = config.scaleAttentionWeights ? 1 / Float(dh).squareRoot() : 1
            if config.scaleAttentionByInverseLayerIndex { scale /= Float(layer + 1) }
            let shape = AttentionShape(batch: batch.batch, queryHeads: heads, queryLength: batch.length, headDim: dh, scale: scale)
            let attended = try Tensor.attention(
                query: parts[0], key: parts[1], value: parts[2], shape: shape, masks: batch.masks, cache: cache, layer: layer)
                .reshaped([batch.batch * batch.length, d])
            let projected = try conv1D(attended, prefix + "attn.c_proj")
            x = try x + projected.dropout(dropout, stream: UInt64(2 * layer + 1))
            let h2 = try x.layerNorm(weight: p(prefix + "ln_2.weight"), bias: p(prefix + "ln_2.bias"), epsilon: Float(config.normEpsilon))
            let up = try conv1D(h2, prefix + "mlp.c_fc").gelu()
            let down = try conv1D(up, prefix + "mlp.c_proj")
            x = try x + down.dropout(dropout, stream: UInt64(2 * layer + 2))
        }
        cache?.advance(by: batch.length)
        return try x.layerNorm(weight: p("transformer.ln_f.weight"), bias: p("transformer.ln_f.bias"), epsilon: Float(config.normEpsilon))
    }

    public func logits(fromHidden hidden: Tensor) throws -> Tensor {
        try Tensor.linear(hidden, weight: headWeight(embeddingName: "transformer.wte.weight"), layout: .outputInput)
    }
}
