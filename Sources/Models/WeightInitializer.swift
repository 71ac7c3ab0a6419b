import Core
import Formats
import Tensors

/// Fresh weights as Hugging Face's `_init_weights` draws them (docs/formats.md §3.6): matrices and
/// embeddings N(0, initializer_range), biases 0, norm weights 1, and GPT-2's residual output
/// projections N(0, initializer_range/√(2·layers)). Seeded, so a run is reproducible.
public enum WeightInitializer {
    /// Fills every parameter of `model` from `seed`.
    public static func initialize(_ model: LanguageModel, seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let config = model.config
        let std = Float(config.initializerRange)
        for spec in ModelParameters.specs(for: config) {
            let values: [Float]
            if spec.shape.count == 1 {
                let isNormWeight = spec.name.hasSuffix("norm.weight") || spec.name.hasSuffix("ln_1.weight")
                    || spec.name.hasSuffix("ln_2.weight") || spec.name.hasSuffix("ln_f.weight")
                values = [Float](repeating: isNormWeight ? 1 : 0, count: spec.count)
            } else {
                let isResidualProjection = config.family == .gpt2 && spec.name.hasSuffix("c_proj.weight")
                let scale = isResidualProjection ? std / Float(2 * config.layerCount).squareRoot() : std
                values = (0..<spec.count).map { _ in random.nextNormal() * scale }
            }
            try model.parameters.load(spec.name, values: values)
        }
    }
}
