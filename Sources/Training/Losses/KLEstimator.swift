import Foundation
import Tensors

/// Per-token estimators of KL(π_θ ‖ π_ref) from the log-probs of sampled tokens (Schulman's
/// k1 and k3; docs/formats.md §6.7–6.8). With logr = logp_ref − logp:
/// k1 = −logr (unbiased, may be negative); k3 = (e^logr − 1) − logr (unbiased, never negative).
public enum KLEstimator: String, Sendable, CaseIterable {
    /// logp − logp_ref.
    case k1
    /// e^(logp_ref − logp) − (logp_ref − logp) − 1.
    case k3

    /// The estimate per token, differentiable with respect to both inputs (same shapes).
    public func perToken(logProbs: Tensor, referenceLogProbs: Tensor) throws -> Tensor {
        let logRatio = try referenceLogProbs - logProbs
        switch self {
        case .k1: return try logRatio.negated()
        case .k3: return try logRatio.exp() - logRatio - 1
        }
    }

    /// The estimate for one token, on the host (PPO's reward shaping, where it is a constant).
    public func perToken(logProb: Double, referenceLogProb: Double) -> Double {
        let logRatio = referenceLogProb - logProb
        switch self {
        case .k1: return -logRatio
        case .k3: return (Foundation.exp(logRatio) - 1) - logRatio
        }
    }
}
