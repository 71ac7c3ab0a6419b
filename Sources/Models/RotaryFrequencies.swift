import Formats
import Foundation

/// The inverse frequencies of rotary position embeddings (docs/formats.md §3.4), with rope scaling.
public enum RotaryFrequencies {
    /// inv_freq[i] = 1/θ^(2i/d) for i < d/2, computed in Float32 as transformers does, then
    /// rescaled for `linear` (÷ factor) or `llama3` (piecewise by wavelength). `dynamic`
    /// scaling changes nothing within the trained length, which is all gputrain runs.
    public static func inverseFrequencies(config: ModelConfig) -> [Float] {
        let d = config.headDimension
        let base = (0..<(d / 2)).map { i -> Float in
            1 / Float(Foundation.pow(config.ropeTheta, Double(2 * i) / Double(d)))
        }
        switch config.ropeScaling {
        case nil, .dynamic?:
            return base
        case .linear(let factor)?:
            return base.map { $0 / Float(factor) }
        case .llama3(let factor, let low, let high, let original)?:
            let lowWavelength = Double(original) / low
            let highWavelength = Double(original) / high
            return base.map { frequency in
                let wavelength = 2 * Double.pi / Double(frequency)
                if wavelength < highWavelength { return frequency }
                if wavelength > lowWavelength { return frequency / Float(factor) }
                let smooth = (Double(original) / wavelength - low) / (high - low)
                return Float((1 - smooth) * Double(frequency) / factor + smooth * Double(frequency))
            }
        }
    }
}
