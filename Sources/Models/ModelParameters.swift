import Core
import Formats
import Tensors

/// The parameters of each model family, with their Hugging Face names and shapes
/// (docs/formats.md §3): the names are the checkpoint keys, so real checkpoints load without renaming.
public enum ModelParameters {
    /// Every parameter of `config`'s causal LM, in checkpoint order: the backbone, then
    /// `lm_head.weight` unless the head is tied to the embedding.
    public static func specs(for config: ModelConfig) -> [ParameterSpec] {
        backboneSpecs(for: config)
            + (config.tieWordEmbeddings ? [] : [ParameterSpec("lm_head.weight", shape: [config.vocabSize, config.hiddenSize])])
    }

    /// The parameters up to the final norm (what a sequence-classification model shares with
    /// the causal LM), in checkpoint order.
    public static func backboneSpecs(for config: ModelConfig) -> [ParameterSpec] {
        switch config.family {
        case .gpt2: return gpt2(config)
        case .llama: return llama(config)
        }
    }

    /// What a run holds of a model with parameters `specs`: without `adapters`, every parameter,
    /// trained when `trainable`; with LoRA `adapters`, the base frozen except the `fullyTrained`
    /// ones (a reward model's head), and the adapters' parameters, trained when `trainable`.
    public static func specs(_ specs: [ParameterSpec], trainable: Bool, adapters: LoRAAdapters?, fullyTrained: Set<String> = [])
        -> (base: [ParameterSpec], adapters: [ParameterSpec])
    {
        let base = specs.map { $0.with(trainable: trainable && (adapters == nil || fullyTrained.contains($0.name))) }
        return (base, (adapters?.specs ?? []).map { $0.with(trainable: trainable) })
    }

    /// Throws unless `store` holds every backbone parameter of `config`'s model (named in the
    /// error). An untied `lm_head.weight` is looked up when logits are asked for, so a reward
    /// model, which has `score.weight` instead, builds on the same backbone.
    static func requireComplete(_ store: ParameterStore, for config: ModelConfig, model: String) throws {
        for spec in backboneSpecs(for: config) where store[spec.name] == nil {
            throw DeviceError.invalidArgument(operation: model, message: "parameter store lacks '\(spec.name)'")
        }
    }

    /// GPT-2 names as `GPT2LMHeadModel` saves them (`transformer.` prefix). Conv1D weights are
    /// [in, out].
    static func gpt2(_ c: ModelConfig) -> [ParameterSpec] {
        let d = c.hiddenSize, inner = c.intermediateSize
        var specs = [
            ParameterSpec("transformer.wte.weight", shape: [c.vocabSize, d]),
            ParameterSpec("transformer.wpe.weight", shape: [c.maxPositions, d]),
        ]
        for layer in 0..<c.layerCount {
            let p = "transformer.h.\(layer)."
            specs += [
                ParameterSpec(p + "ln_1.weight", shape: [d]), ParameterSpec(p + "ln_1.bias", shape: [d]),
                ParameterSpec(p + "attn.c_attn.weight", shape: [d, 3 * d]), ParameterSpec(p + "attn.c_attn.bias", shape: [3 * d]),
                ParameterSpec(p + "attn.c_proj.weight", shape: [d, d]), ParameterSpec(p + "attn.c_proj.bias", shape: [d]),
                ParameterSpec(p + "ln_2.weight", shape: [d]), ParameterSpec(p + "ln_2.bias", shape: [d]),
                ParameterSpec(p + "mlp.c_fc.weight", shape: [d, inner]), ParameterSpec(p + "mlp.c_fc.bias", shape: [inner]),
                ParameterSpec(p + "mlp.c_proj.weight", shape: [inner, d]), ParameterSpec(p + "mlp.c_proj.bias", shape: [d]),
            ]
        }
        specs += [ParameterSpec("transformer.ln_f.weight", shape: [d]), ParameterSpec("transformer.ln_f.bias", shape: [d])]
        return specs
    }

    /// Llama-family names (`model.` prefix); projections are `nn.Linear` [out, in].
    static func llama(_ c: ModelConfig) -> [ParameterSpec] {
        let d = c.hiddenSize, dh = c.headDimension
        var specs = [ParameterSpec("model.embed_tokens.weight", shape: [c.vocabSize, d])]
        for layer in 0..<c.layerCount {
            let p = "model.layers.\(layer)."
            let projections: [(String, Int, Int, Bool)] = [
                ("self_attn.q_proj", c.headCount * dh, d, c.queryKeyValueBias),
                ("self_attn.k_proj", c.keyValueHeadCount * dh, d, c.queryKeyValueBias),
                ("self_attn.v_proj", c.keyValueHeadCount * dh, d, c.queryKeyValueBias),
                ("self_attn.o_proj", d, c.headCount * dh, c.attentionOutputBias),
                ("mlp.gate_proj", c.intermediateSize, d, c.mlpBias),
                ("mlp.up_proj", c.intermediateSize, d, c.mlpBias),
                ("mlp.down_proj", d, c.intermediateSize, c.mlpBias),
            ]
            specs.append(ParameterSpec(p + "input_layernorm.weight", shape: [d]))
            for (name, out, input, bias) in projections {
                specs.append(ParameterSpec(p + name + ".weight", shape: [out, input]))
                if bias { specs.append(ParameterSpec(p + name + ".bias", shape: [out])) }
            }
            specs.append(ParameterSpec(p + "post_attention_layernorm.weight", shape: [d]))
        }
        specs.append(ParameterSpec("model.norm.weight", shape: [d]))
        return specs
    }
}

/// One projection of a transformer block (what LoRA can adapt), in `nn.Linear` terms.
public struct LinearModule: Sendable, Equatable {
    /// The module path, e.g. "model.layers.0.self_attn.q_proj" (its weight is `path + ".weight"`).
    public var path: String
    public var inputs: Int
    public var outputs: Int
    /// How the weight is stored: [out, in] (`nn.Linear`) or [in, out] (GPT-2's `Conv1D`).
    public var layout: WeightLayout
}

extension ModelParameters {
    /// Every projection inside the transformer blocks of `config`'s model, in checkpoint order:
    /// the rank-2 weights of the blocks (embeddings and the output head are not among them).
    public static func linearModules(for config: ModelConfig) -> [LinearModule] {
        let blockPrefix = config.family == .gpt2 ? "transformer.h." : "model.layers."
        let layout: WeightLayout = config.family == .gpt2 ? .inputOutput : .outputInput
        return backboneSpecs(for: config).compactMap { spec in
            guard spec.name.hasPrefix(blockPrefix), spec.name.hasSuffix(".weight"), spec.shape.count == 2 else { return nil }
            let (inputs, outputs) = layout == .inputOutput ? (spec.shape[0], spec.shape[1]) : (spec.shape[1], spec.shape[0])
            return LinearModule(path: String(spec.name.dropLast(".weight".count)), inputs: inputs, outputs: outputs, layout: layout)
        }
    }
}
