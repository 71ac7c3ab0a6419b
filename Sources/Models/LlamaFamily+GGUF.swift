import Formats
import Foundation

extension LlamaFamily {
    /// Llama, Mistral and the Llama-shaped SmolLM/TinyLlama are llama.cpp's `llama` (RoPE on
    /// adjacent pairs, so q/k rows are reordered); Qwen2 is `qwen2` (half-split RoPE like Hugging
    /// Face, q/k untouched). Docs/formats.md §5.4, §5.6.
    public func ggufArchitecture(for config: ModelConfig, fileName: String) throws -> GGUFArchitecture {
        let name = config.modelType == .qwen2 ? "qwen2" : "llama"
        if name == "qwen2" {
            guard !config.attentionOutputBias, !config.mlpBias,
                config.headCount * config.headDimension == config.hiddenSize
            else {
                throw FormatError(
                    file: fileName,
                    "cannot export to GGUF: llama.cpp's qwen2 has no o_proj or MLP biases and needs "
                        + "heads × head_dim = hidden_size")
            }
        }
        var warnings: [String] = []
        if case .dynamic? = config.ropeScaling {
            warnings.append(
                "llama.cpp has no dynamic NTK RoPE scaling; the export uses plain RoPE, which is identical up to "
                    + "max_position_embeddings (\(config.maxPositions)) tokens")
        }
        if let window = config.slidingWindow, window < config.maxPositions {
            warnings.append(
                "llama.cpp's \(name) attends over the whole context; the model's sliding window of \(window) tokens "
                    + "makes no difference only for sequences up to \(window) tokens")
        }
        return GGUFArchitecture(
            name: name, config: config, hyperparameters: ggufHyperparameters(config, name: name),
            tensors: ggufTensors(config, reordersRotaryPairs: name == "llama"), warnings: warnings)
    }

    /// The `{name}.*` keys beyond those every architecture has.
    private func ggufHyperparameters(_ config: ModelConfig, name: String) -> GGUFMetadata {
        var metadata = GGUFMetadata()
        func set(_ key: String, _ value: GGUFValue) { metadata["\(name).\(key)"] = value }
        func count(_ value: Int) -> GGUFValue { .uint32(UInt32(value)) }
        set("attention.head_count_kv", count(config.keyValueHeadCount))
        set("attention.layer_norm_rms_epsilon", .float32(Float(config.normEpsilon)))
        set("rope.freq_base", .float32(Float(config.ropeTheta)))
        set("rope.dimension_count", count(config.headDimension))
        if config.headDimension * config.headCount != config.hiddenSize {
            set("attention.key_length", count(config.headDimension))
            set("attention.value_length", count(config.headDimension))
        }
        set("vocab_size", count(config.vocabSize))
        if case .linear(let factor)? = config.ropeScaling {
            set("rope.scaling.type", .string("linear"))
            set("rope.scaling.factor", .float32(Float(factor)))
        }
        return metadata
    }

    /// The tensors up to the output norm, then Llama 3's RoPE frequency factors if any.
    private func ggufTensors(_ config: ModelConfig, reordersRotaryPairs: Bool) -> [GGUFTensorPlan] {
        let layout = Layout(config)
        func rotary(_ heads: Int) -> GGUFTensorPlan.Transform {
            reordersRotaryPairs ? .adjacentRotaryPairs(heads: heads) : .none
        }
        var plans = [GGUFTensorPlan("token_embd.weight", from: layout.tokenEmbedding)]
        func add(_ target: String, _ projection: ProjectionParameters, transform: GGUFTensorPlan.Transform = .none) {
            plans.append(GGUFTensorPlan(target + ".weight", from: projection.weight, transform: transform))
            plans += projection.bias.map { [GGUFTensorPlan(target + ".bias", from: $0, transform: transform)] } ?? []
        }
        for (layer, block) in layout.blocks.enumerated() {
            let gguf = "blk.\(layer)."
            plans.append(GGUFTensorPlan(gguf + "attn_norm.weight", from: block.attentionNorm))
            add(gguf + "attn_q", block.query, transform: rotary(config.headCount))
            add(gguf + "attn_k", block.key, transform: rotary(config.keyValueHeadCount))
            add(gguf + "attn_v", block.value)
            add(gguf + "attn_output", block.output)
            plans.append(GGUFTensorPlan(gguf + "ffn_norm.weight", from: block.mlpNorm))
            add(gguf + "ffn_gate", block.gate)
            add(gguf + "ffn_up", block.up)
            add(gguf + "ffn_down", block.down)
        }
        plans.append(GGUFTensorPlan("output_norm.weight", from: layout.finalNorm))
        if let factors = ropeFrequencyFactors(config) {
            plans.append(GGUFTensorPlan("rope_freqs.weight", from: .generated(factors), shape: [factors.count]))
        }
        return plans
    }

    /// Llama 3 RoPE scaling as per-frequency divisors (docs/formats.md §5.6), `nil` for other scalings.
    /// `rope.freq_base` stays the unscaled θ.
    private func ropeFrequencyFactors(_ config: ModelConfig) -> [Float]? {
        guard case .llama3(let factor, let low, let high, let original)? = config.ropeScaling else { return nil }
        let dimension = config.headDimension
        let lowWavelength = Double(original) / low
        let highWavelength = Double(original) / high
        return stride(from: 0, to: dimension, by: 2).map { index in
            // As the reference converter: the unscaled frequency computed in f32.
            let frequency = Double(1 / powf(Float(config.ropeTheta), Float(index) / Float(dimension)))
            let wavelength = 2 * Double.pi / frequency
            if wavelength < highWavelength { return 1 }
            if wavelength > lowWavelength { return Float(factor) }
            let smooth = (Double(original) / wavelength - low) / (high - low)
            return Float(1 / ((1 - smooth) / factor + smooth))
        }
    }
}
