import Core
import Formats
import Tensors

/// The Llama family (docs/formats.md §3.2–3.4; also Qwen2 and Mistral): RMSNorm, rotary positions
/// (with `rope_theta` and rope scaling), SwiGLU, grouped-query attention, optional q/k/v
/// bias (Qwen2), tied or untied head.
public final class LlamaModel: LanguageModel {
    public let config: ModelConfig
    public let parameters: ParameterStore
    public let adapters: LoRAAdapters?
    /// The rotary inverse frequencies [headDim/2], computed once.
    private let inverseFrequencies: Tensor

    public init(config: ModelConfig, parameters: ParameterStore, adapters: LoRAAdapters? = nil) throws {
        self.config = config
        self.parameters = parameters
        self.adapters = adapters
        try ModelParameters.requireComplete(parameters, for: config, model: "LlamaModel")
        let frequencies = RotaryFrequencies.inverseFrequencies(config: config)
        inverseFrequencies = try Tensor(device: parameters.device, shape: [frequencies.count], values: frequencies, label: "rope inverse frequencies")
    }

    private func p(_ name: String) throws -> Tensor { try parameters.tensor(name) }

    private func projection(_ x: Tensor, _ name: String, bias: Bool) throws -> Tensor {
        try project(x, module: name, bias: bias, layout: .outputInput)
    }

    public func hiddenStates(_ batch: TokenBatch, dropout: DropoutSettings?, cache: KeyValueCache?) throws -> Tensor {
        let dh = config.headDimension, heads = config.headCount, kvHeads = config.keyValueHeadCount
        let eps = Float(config.normEpsilon)
        let start = try cache?.positionOfNext(batch, config: config) ?? 0
        if let window = config.slidingWindow, start + batch.length > window {
            throw DeviceError.invalidArgument(operation: "LlamaModel", message: "\(start + batch.length) positions exceed the "
                + "\(config.modelType.rawValue) sliding window of \(window) tokens; gputrain attends over whole sequences only, "
                + "so use sequences of at most \(window) tokens")
        }
        let positions = try batch.resolvedPositions(start: start)
        let rows = batch.batch * batch.length
        var x = try Tensor.embedding(p("model.embed_tokens.weight"), ids: batch.ids)
        let shape = AttentionShape(batch: batch.batch, queryHeads: heads, keyValueHeads: kvHeads, queryLength: batch.length, headDim: dh)
        for layer in 0..<config.layerCount {
            let prefix = "model.layers.\(layer)."
            let h = try x.rmsNorm(weight: p(prefix + "input_layernorm.weight"), epsilon: eps)
            let bias = config.queryKeyValueBias
            let q = try projection(h, prefix + "self_attn.q_proj", bias: bias).reshaped([batch.batch, batch.length, heads, dh])
                .rope(positions: positions, inverseFrequencies: inverseFrequencies)
            let k = try projection(h, prefix + "self_attn.k_proj", bias: bias).reshaped([batch.batch, batch.length, kvHeads, dh])
                .rope(positions: positions, inverseFrequencies: inverseFrequencies)
            let v = try projection(h, prefix + "self_attn.v_proj", bias: bias).reshaped([batch.batch, batch.length, kvHeads, dh])
            let attended = try Tensor.attention(query: q, key: k, value: v, shape: shape, masks: batch.masks, cache: cache, layer: layer)
                .reshaped([rows, heads * dh])
            let output = try projection(attended, prefix + "self_attn.o_proj", bias: config.attentionOutputBias)
            x = try x + output.dropout(dropout, stream: UInt64(2 * layer + 1))
            let n = try x.rmsNorm(weight: p(prefix + "post_attention_layernorm.weight"), epsilon: eps)
            let gate = try projection(n, prefix + "mlp.gate_proj", bias: config.mlpBias).silu()
            let up = try projection(n, prefix + "mlp.up_proj", bias: config.mlpBias)
            let down = try projection(gate * up, prefix + "mlp.down_proj", bias: config.mlpBias)
            x = try x + down.dropout(dropout, stream: UInt64(2 * layer + 2))
        }
        cache?.advance(by: batch.length)
        return try x.rmsNorm(weight: p("model.norm.weight"), epsilon: eps)
    }

    public func logits(fromHidden hidden: Tensor) throws -> Tensor {
        try Tensor.linear(hidden, weight: headWeight(embeddingName: "model.embed_tokens.weight"), layout: .outputInput)
    }
}
