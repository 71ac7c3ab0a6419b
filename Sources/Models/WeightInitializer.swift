import Core
import Formats
import Tensors

/// Fresh weights as Hugging Face's `_init_weights` draws them (docs/formats.md §3.6): matrices and
/// embeddings N(0, initializer_range), biases 0, norm weights 1, with each family's exceptions
/// (`ModelFamily.initialStandardDeviation`: GPT-2's residual output projections). Seeded, so a
/// run is reproducible.
public enum WeightInitializer {
    /// Fills every parameter of `model` from `seed`, in checkpoint order (the draws of one
    /// parameter depend on those before it).
    public static func initialize(_ model: LanguageModel, seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let config = model.config
        for parameter in ModelParameters.declarations(for: config) {
            let values: [Float]
            switch parameter.role {
            case .normScale:
                values = [Float](repeating: 1, count: parameter.count)
            case .bias:
                values = [Float](repeating: 0, count: parameter.count)
            case .embedding, .head, .projection:
                let std = config.family.initialStandardDeviation(of: parameter, config: config)
                values = (0..<parameter.count).map { _ in random.nextNormal() * std }
            }
            try model.parameters.load(parameter.name, values: values)
        }
    }
}
