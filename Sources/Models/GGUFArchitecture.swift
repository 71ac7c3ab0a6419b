import Foundation
import Formats

/// How a model of one `ModelConfig` maps onto a llama.cpp architecture (docs/formats.md §5.4, §5.6): the
/// architecture name, its hyperparameter metadata and its tensors.
///
/// Llama, Mistral and the Llama-shaped SmolLM/TinyLlama are `llama` (RoPE on adjacent pairs, so
/// q/k rows are reordered); Qwen2 is `qwen2` (half-split RoPE like Hugging Face, q/k untouched);
/// GPT-2 is `gpt2` (Conv1D weights transposed).
struct GGUFArchitecture {
    let name: String
    let config: ModelConfig
    /// Differences llama.cpp will make, for the user (none is an error in the exported file).
    private(set) var warnings: [String] = []

    /// Checks that llama.cpp's architecture computes what gputrain computes for `config`;
    /// settings it cannot express are errors naming them.
    init(config: ModelConfig, fileName: String) throws {
        self.config = config
        func unsupported(_ message: String) -> FormatError { FormatError(file: fileName, "cannot export to GGUF: \(message)") }
        switch config.modelType {
        case .gpt2:
            name = "gpt2"
            guard config.scaleAttentionWeights, !config.scaleAttentionByInverseLayerIndex else {
                throw unsupported("llama.cpp's gpt2 scales attention by 1/√d_h only; this config sets scale_attn_weights "
                    + "\(config.scaleAttentionWeights) and scale_attn_by_inverse_layer_idx \(config.scaleAttentionByInverseLayerIndex)")
            }
        case .llama, .mistral:
            name = "llama"
        case .qwen2:
            name = "qwen2"
            guard !config.attentionOutputBias, !config.mlpBias, config.headCount * config.headDimension == config.hiddenSize else {
                throw unsupported("llama.cpp's qwen2 has no o_proj or MLP biases and needs heads × head_dim = hidden_size")
            }
        }
        if config.family == .llama {
            if case .dynamic? = config.ropeScaling {
                warnings.append("llama.cpp has no dynamic NTK RoPE scaling; the export uses plain RoPE, which is identical up to "
                    + "max_position_embeddings (\(config.maxPositions)) tokens")
            }
            if let window = config.slidingWindow, window < config.maxPositions {
                warnings.append("llama.cpp's \(name) attends over the whole context; the model's sliding window of \(window) tokens "
                    + "makes no difference only for sequences up to \(window) tokens")
            }
        }
    }

    // MARK: Metadata

    /// The `{arch}.*` keys with the value types llama.cpp reads (u32 counts, f32 epsilons and
    /// frequency base).
    var hyperparameters: GGUFMetadata {
        var metadata = GGUFMetadata()
        func set(_ key: String, _ value: GGUFValue) { metadata["\(name).\(key)"] = value }
        func count(_ value: Int) -> GGUFValue { .uint32(UInt32(value)) }
        set("context_length", count(config.maxPositions))
        set("embedding_length", count(config.hiddenSize))
        set("block_count", count(config.layerCount))
        set("feed_forward_length", count(config.intermediateSize))
        set("attention.head_count", count(config.headCount))
        if config.family == .gpt2 {
            set("attention.layer_norm_epsilon", .float32(Float(config.normEpsilon)))
            return metadata
        }
        set("attention.head_count_kv", count(config.keyValueHeadCount))
        set("attention.layer_norm_rms_epsilon", .float32(Float(config.normEpsilon)))
        set("rope.freq_base", .float32(Float(config.ropeTheta)))
        set("rope.dimension_count", count(config.headDimension))
        if config.headDimension * config.headCount != config.hiddenSize {
            set("attention.key_length", count(config.headDimension))
            set("attention.value_length", count(config.headDimension))
        }
        set("vocab_size", count(config.vocabSize))
        if case let .linear(factor)? = config.ropeScaling {
            set("rope.scaling.type", .string("linear"))
            set("rope.scaling.factor", .float32(Float(factor)))
        }
        return metadata
    }

    // MARK: Tensors

    /// Every tensor, in checkpoint order; no `output.weight` when the head is tied (llama.cpp then
    /// reuses `token_embd`).
    var tensors: [GGUFTensorPlan] {
        var plans = config.family == .gpt2 ? gpt2Tensors : llamaTensors
        if !config.tieWordEmbeddings {
            plans.append(GGUFTensorPlan("output.weight", from: .parameter("lm_head.weight"), shape: [config.vocabSize, config.hiddenSize]))
        }
        return plans
    }

    private var llamaTensors: [GGUFTensorPlan] {
        let d = config.hiddenSize, dh = config.headDimension, ff = config.intermediateSize
        let queryRows = config.headCount * dh, keyValueRows = config.keyValueHeadCount * dh
        // Only the llama architecture rotates adjacent pairs; qwen2 keeps Hugging Face's order.
        let reorders = name == "llama"
        func rotary(_ heads: Int) -> GGUFTensorPlan.Transform { reorders ? .adjacentRotaryPairs(heads: heads) : .none }
        var plans = [GGUFTensorPlan("token_embd.weight", from: .parameter("model.embed_tokens.weight"), shape: [config.vocabSize, d])]
        for layer in 0..<config.layerCount {
            let hf = "model.layers.\(layer).", gguf = "blk.\(layer)."
            func add(_ target: String, _ source: String, rows: Int, columns: Int, bias: Bool, transform: GGUFTensorPlan.Transform = .none) {
                plans.append(GGUFTensorPlan(gguf + target + ".weight", from: .parameter(hf + source + ".weight"), shape: [rows, columns],
                                            transform: transform))
                if bias {
                    plans.append(GGUFTensorPlan(gguf + target + ".bias", from: .parameter(hf + source + ".bias"), shape: [rows],
                                                transform: transform))
                }
            }
            plans.append(GGUFTensorPlan(gguf + "attn_norm.weight", from: .parameter(hf + "input_layernorm.weight"), shape: [d]))
            add("attn_q", "self_attn.q_proj", rows: queryRows, columns: d, bias: config.queryKeyValueBias, transform: rotary(config.headCount))
            add("attn_k", "self_attn.k_proj", rows: keyValueRows, columns: d, bias: config.queryKeyValueBias,
                transform: rotary(config.keyValueHeadCount))
            add("attn_v", "self_attn.v_proj", rows: keyValueRows, columns: d, bias: config.queryKeyValueBias)
            add("attn_output", "self_attn.o_proj", rows: d, columns: queryRows, bias: config.attentionOutputBias)
            plans.append(GGUFTensorPlan(gguf + "ffn_norm.weight", from: .parameter(hf + "post_attention_layernorm.weight"), shape: [d]))
            add("ffn_gate", "mlp.gate_proj", rows: ff, columns: d, bias: config.mlpBias)
            add("ffn_up", "mlp.up_proj", rows: ff, columns: d, bias: config.mlpBias)
            add("ffn_down", "mlp.down_proj", rows: d, columns: ff, bias: config.mlpBias)
        }
        plans.append(GGUFTensorPlan("output_norm.weight", from: .parameter("model.norm.weight"), shape: [d]))
        if let factors = ropeFrequencyFactors {
            plans.append(GGUFTensorPlan("rope_freqs.weight", from: .generated(factors), shape: [factors.count]))
        }
        return plans
    }

    private var gpt2Tensors: [GGUFTensorPlan] {
        let d = config.hiddenSize, ff = config.intermediateSize
        var plans = [
            GGUFTensorPlan("token_embd.weight", from: .parameter("transformer.wte.weight"), shape: [config.vocabSize, d]),
            // The reference converter keeps learned positions in F32.
            GGUFTensorPlan("position_embd.weight", from: .parameter("transformer.wpe.weight"), shape: [config.maxPositions, d], keepsFloat32: true),
        ]
        for layer in 0..<config.layerCount {
            let hf = "transformer.h.\(layer).", gguf = "blk.\(layer)."
            func norm(_ target: String, _ source: String) {
                for suffix in [".weight", ".bias"] {
                    plans.append(GGUFTensorPlan(gguf + target + suffix, from: .parameter(hf + source + suffix), shape: [d]))
                }
            }
            // Conv1D stores [in, out]; llama.cpp multiplies like nn.Linear, [out, in].
            func conv1D(_ target: String, _ source: String, input: Int, output: Int) {
                plans.append(GGUFTensorPlan(gguf + target + ".weight", from: .parameter(hf + source + ".weight"), shape: [output, input],
                                            transform: .transpose))
                plans.append(GGUFTensorPlan(gguf + target + ".bias", from: .parameter(hf + source + ".bias"), shape: [output]))
            }
            norm("attn_norm", "ln_1")
            conv1D("attn_qkv", "attn.c_attn", input: d, output: 3 * d)
            conv1D("attn_output", "attn.c_proj", input: d, output: d)
            norm("ffn_norm", "ln_2")
            conv1D("ffn_up", "mlp.c_fc", input: d, output: ff)
            conv1D("ffn_down", "mlp.c_proj", input: ff, output: d)
        }
        for suffix in [".weight", ".bias"] {
            plans.append(GGUFTensorPlan("output_norm" + suffix, from: .parameter("transformer.ln_f" + suffix), shape: [d]))
        }
        return plans
    }

    /// Llama 3 RoPE scaling as per-frequency divisors (docs/formats.md §5.6), `nil` for other scalings.
    /// `rope.freq_base` stays the unscaled θ.
    private var ropeFrequencyFactors: [Float]? {
        guard case let .llama3(factor, low, high, original)? = config.ropeScaling else { return nil }
        let dimension = config.headDimension
        let lowWavelength = Double(original) / low, highWavelength = Double(original) / high
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
