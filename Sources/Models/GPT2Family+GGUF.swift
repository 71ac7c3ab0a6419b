import Formats

extension GPT2Family {
    /// llama.cpp's `gpt2` (docs/formats.md §5.4): Conv1D weights transposed to [out, in], learned
    /// positions kept in F32.
    public func ggufArchitecture(for config: ModelConfig, fileName: String) throws -> GGUFArchitecture {
        guard config.scaleAttentionWeights, !config.scaleAttentionByInverseLayerIndex else {
            throw FormatError(
                file: fileName,
                "cannot export to GGUF: llama.cpp's gpt2 scales attention by 1/√d_h only; this config "
                    + "sets scale_attn_weights \(config.scaleAttentionWeights) and scale_attn_by_inverse_layer_idx "
                    + "\(config.scaleAttentionByInverseLayerIndex)")
        }
        var hyperparameters = GGUFMetadata()
        hyperparameters["gpt2.attention.layer_norm_epsilon"] = .float32(Float(config.normEpsilon))
        return GGUFArchitecture(
            name: "gpt2", config: config, hyperparameters: hyperparameters, tensors: ggufTensors(Layout(config)))
    }

    private func ggufTensors(_ layout: Layout) -> [GGUFTensorPlan] {
        var plans = [
            GGUFTensorPlan("token_embd.weight", from: layout.tokenEmbedding),
            // The reference converter keeps learned positions in F32.
            GGUFTensorPlan("position_embd.weight", from: layout.positionEmbedding, keepsFloat32: true),
        ]
        func norm(_ target: String, _ norm: Layout.LayerNorm) {
            plans.append(GGUFTensorPlan(target + ".weight", from: norm.weight))
            plans.append(GGUFTensorPlan(target + ".bias", from: norm.bias))
        }
        // Conv1D stores [in, out]; llama.cpp multiplies like nn.Linear, [out, in].
        func conv1D(_ target: String, _ projection: ProjectionParameters) {
            plans.append(GGUFTensorPlan(target + ".weight", from: projection.weight, transform: .transpose))
            plans += projection.bias.map { [GGUFTensorPlan(target + ".bias", from: $0)] } ?? []
        }
        for (layer, block) in layout.blocks.enumerated() {
            let gguf = "blk.\(layer)."
            norm(gguf + "attn_norm", block.attentionNorm)
            conv1D(gguf + "attn_qkv", block.attention)
            conv1D(gguf + "attn_output", block.attentionOutput)
            norm(gguf + "ffn_norm", block.mlpNorm)
            conv1D(gguf + "ffn_up", block.up)
            conv1D(gguf + "ffn_down", block.down)
        }
        norm("output_norm", layout.finalNorm)
        return plans
    }
}
