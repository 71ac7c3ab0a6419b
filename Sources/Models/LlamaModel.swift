import Core
import Formats
import Tensors

/// The Llama forward pass (docs/formats.md §3.2–3.4; also Qwen2 and Mistral) over the parameters
/// `LlamaFamily` declares: RMSNorm, rotary positions (with `rope_theta` and rope scaling), SwiGLU,
/// grouped-query attention, optional q/k/v bias (Qwen2), tied or untied head.
public final class LlamaModel: LanguageModel {
    public let config: ModelConfig
    public let parameters: ParameterStore
    public let adapters: LoRAAdapters?
    private let layout: LlamaFamily.Layout
    /// The rotary inverse frequencies [headDim/2], computed once.
    private let inverseFrequencies: Tensor

    public init(config: ModelConfig, parameters: ParameterStore, adapters: LoRAAdapters? = nil) throws {
        self.config = config
        self.parameters = parameters
        self.adapters = adapters
        layout = LlamaFamily.Layout(config)
        try ModelParameters.requireComplete(parameters, for: config, model: "LlamaModel")
        let frequencies = RotaryFrequencies.inverseFrequencies(config: config)
        inverseFrequencies = try Tensor(
            device: parameters.device, shape: [frequencies.count], values: frequencies,
            label: "rope inverse frequencies")
    }

    private func p(_ parameter: ParameterDeclaration) throws -> Tensor { try parameters.tensor(parameter.name) }

    public func hiddenStates(_ batch: TokenBatch, dropout: DropoutSettings?, cache: KeyValueCache?) throws -> Tensor {
        let dh = config.headDimension
        let heads = config.headCount
        let kvHeads = config.keyValueHeadCount
        let eps = Float(config.normEpsilon)
        let start = try cache?.positionOfNext(batch, config: config) ?? 0
        if let window = config.slidingWindow, start + batch.length > window {
            throw DeviceError.invalidArgument(
                operation: "LlamaModel",
                message: "\(start + batch.length) positions exceed the "
                    + "\(config.modelType.rawValue) sliding window of \(window) tokens; gputrain attends over whole sequences only, "
                    + "so use sequences of at most \(window) tokens")
        }
        let positions = try batch.resolvedPositions(start: start, limit: config.maxPositions)
        let rows = batch.batch * batch.length
        var x = try Tensor.embedding(p(layout.tokenEmbedding), ids: batch.ids)
        let shape = AttentionShape(
            batch: batch.batch, queryHeads: heads, keyValueHeads: kvHeads, queryLength: batch.length, headDim: dh)
        for (layer, block) in layout.blocks.enumerated() {
            let h = try x.rmsNorm(weight: p(block.attentionNorm), epsilon: eps)
            let q = try project(h, block.query).reshaped([batch.batch, batch.length, heads, dh])
                .rope(positions: positions, inverseFrequencies: inverseFrequencies)
            let k = try project(h, block.key).reshaped([batch.batch, batch.length, kvHeads, dh])
                .rope(positions: positions, inverseFrequencies: inverseFrequencies)
            let v = try project(h, block.value).reshaped([batch.batch, batch.length, kvHeads, dh])
            let attended = try Tensor.attention(
                query: q, key: k, value: v, shape: shape, masks: batch.masks, cache: cache, layer: layer
            )
            .reshaped([rows, heads * dh])
            let output = try project(attended, block.output)
            x = try x + output.dropout(dropout, stream: UInt64(2 * layer + 1))
            let n = try x.rmsNorm(weight: p(block.mlpNorm), epsilon: eps)
            let gate = try project(n, block.gate).silu()
            let up = try project(n, block.up)
            let down = try project(gate * up, block.down)
            x = try x + down.dropout(dropout, stream: UInt64(2 * layer + 2))
        }
        cache?.advance(by: batch.length)
        return try x.rmsNorm(weight: p(layout.finalNorm), epsilon: eps)
    }

    public func logits(fromHidden hidden: Tensor) throws -> Tensor {
        try Tensor.linear(hidden, weight: headWeight(embedding: layout.tokenEmbedding), layout: .outputInput)
    }
}
