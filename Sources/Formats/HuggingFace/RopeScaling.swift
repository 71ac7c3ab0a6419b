import Foundation

/// How RoPE frequencies are rescaled for longer contexts (docs/formats.md §3.4). Plain RoPE is `nil`.
public enum RopeScaling: Equatable, Sendable {
    /// Positions divided by `factor`.
    case linear(factor: Double)
    /// NTK-aware scaling of θ once the sequence exceeds the trained length.
    case dynamic(factor: Double)
    /// Llama 3.1's piecewise scaling of the inverse frequencies.
    case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalMaxPositions: Int)

    /// The `rope_type` name.
    public var typeName: String {
        switch self {
        case .linear: return "linear"
        case .dynamic: return "dynamic"
        case .llama3: return "llama3"
        }
    }

    /// Reads RoPE settings from either spelling: transformers v5 `rope_parameters`
    /// (`{"rope_type", "rope_theta", …}`) or v4 `rope_theta` plus `rope_scaling` (whose type key is
    /// `rope_type` or the older `type`). `rope_parameters` wins when both are present.
    /// Returns θ (or `defaultTheta`) and the scaling (`nil` for `default`).
    static func read(from config: JSONFields, defaultTheta: Double) throws -> (theta: Double, scaling: RopeScaling?) {
        if let parameters = try config.object("rope_parameters") {
            let theta = try parameters.double("rope_theta") ?? config.double("rope_theta") ?? defaultTheta
            return (theta, try scaling(from: parameters))
        }
        let theta = try config.double("rope_theta") ?? defaultTheta
        guard let scalingFields = try config.object("rope_scaling") else { return (theta, nil) }
        return (theta, try scaling(from: scalingFields))
    }

    private static func scaling(from fields: JSONFields) throws -> RopeScaling? {
        guard let type = try fields.string("rope_type") ?? fields.string("type") else {
            throw fields.error("rope_type", "is missing (expected default, linear, dynamic or llama3)")
        }
        func factor() throws -> Double {
            guard let value = try fields.double("factor") else {
                throw fields.error("factor", "is missing for rope_type \(type)")
            }
            guard value >= 1 else { throw fields.error("factor", "should be at least 1, found \(value)") }
            return value
        }
        switch type {
        case "default": return nil
        case "linear": return .linear(factor: try factor())
        case "dynamic": return .dynamic(factor: try factor())
        case "llama3":
            let scaling = RopeScaling.llama3(
                factor: try factor(),
                lowFrequencyFactor: try fields.double("low_freq_factor") ?? 1,
                highFrequencyFactor: try fields.double("high_freq_factor") ?? 4,
                originalMaxPositions: try fields.positive("original_max_position_embeddings") ?? 8192)
            if case .llama3(_, let low, let high, _) = scaling, !(high > low) {
                throw fields.error("high_freq_factor", "should be larger than low_freq_factor (\(high) ≤ \(low))")
            }
            return scaling
        default:
            throw fields.error(
                "rope_type",
                "is '\(type)', which gputrain does not support (supported: default, linear, dynamic, llama3)")
        }
    }

    /// The v4 `rope_scaling` object. Both `rope_type` and the older `type` key are written so that
    /// old and new transformers versions read it.
    var json: JSONValue {
        var object: JSONObject = ["rope_type": .string(typeName), "type": .string(typeName)]
        switch self {
        case .linear(let factor), .dynamic(let factor):
            object["factor"] = .double(factor)
        case .llama3(let factor, let low, let high, let original):
            object["factor"] = .double(factor)
            object["low_freq_factor"] = .double(low)
            object["high_freq_factor"] = .double(high)
            object["original_max_position_embeddings"] = .int(original)
        }
        return .object(object)
    }
}
