import Core
import Formats
import Tensors

/// GPT-2's forward pass (docs/formats.md §3.1) over the parameters `GPT2Family` declares: learned
/// positions, pre-LayerNorm blocks, GELU (tanh form), Conv1D projections with biases, the LM head
/// tied to the token embedding unless the config unties it.
public final class GPT2Model: LanguageModel {
    public let config: ModelConfig
    public let parameters: ParameterStore
    public let adapters: LoRAAdapters?
    private let layout: GPT2Family.Layout

    public init(config: ModelConfig, parameters: ParameterStore, adapters: LoRAAdapters? = nil) throws {
        self.config = config
        self.parameters = parameters
        self.adapters = adapters
        layout = GPT2Family.Layout(config)
        try ModelParameters.requireComplete(parameters, for: config, model: "GPT2Model")
    }

    private func p(_ parameter: ParameterDeclaration) throws -> Tensor { try parameters.tensor(parameter.name) }

    private func layerNorm(_ x: Tensor, _ norm: GPT2Family.Layout.LayerNorm) throws -> Tensor {
        try x.layerNorm(weight: p(norm.weight), bias: p(norm.bias), epsilon: Float(config.normEpsilon))
    }

    public func hiddenStates(_ batch: TokenBatch, dropout: DropoutSettings?, cache: KeyValueCache?) throws -> Tensor {
        let d = config.hiddenSize
        let heads = config.headCount
        let dh = d / heads
        let start = try cache?.positionOfNext(batch, config: config) ?? 0
        let tokens = try Tensor.embedding(p(layout.tokenEmbedding), ids: batch.ids)
        let positions = try Tensor.embedding(
            p(layout.positionEmbedding), ids: batch.resolvedPositions(start: start, limit: config.maxPositions))
        var x = try (tokens + positions).dropout(dropout, stream: 0)
        for (layer, block) in layout.blocks.enumerated() {
            let h = try layerNorm(x, block.attentionNorm)
            let qkv = try project(h, block.attention)
            let parts = try qkv.split(sizes: [d, d, d]).map { try $0.reshaped([batch.batch, batch.length, heads, dh]) }
            var scale: Float = config.scaleAttentionWeights ? 1 / Float(dh).squareRoot() : 1
            if config.scaleAttentionByInverseLayerIndex { scale /= Float(layer + 1) }
            let shape = AttentionShape(
                batch: batch.batch, queryHeads: heads, queryLength: batch.length, headDim: dh, scale: scale)
            let attended = try Tensor.attention(
                query: parts[0], key: parts[1], value: parts[2], shape: shape, masks: batch.masks, cache: cache,
                layer: layer
            )
            .reshaped([batch.batch * batch.length, d])
            let projected = try project(attended, block.attentionOutput)
            x = try x + projected.dropout(dropout, stream: UInt64(2 * layer + 1))
            let h2 = try layerNorm(x, block.mlpNorm)
            let up = try project(h2, block.up).gelu()
            let down = try project(up, block.down)
            x = try x + down.dropout(dropout, stream: UInt64(2 * layer + 2))
        }
        cache?.advance(by: batch.length)
        return try layerNorm(x, layout.finalNorm)
    }

    public func logits(fromHidden hidden: Tensor) throws -> Tensor {
        try Tensor.linear(hidden, weight: headWeight(embedding: layout.tokenEmbedding), layout: .outputInput)
    }
}
