import Foundation

/// The hyperparameters of one AdamW update, exactly as `torch.optim.AdamW` applies them.
///
/// For each element, with t = `step` (from 1):
/// θ ← θ·(1 − lr·wd) (only for the first `decayCount` elements of the flat buffer);
/// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// θ ← θ − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε).
public struct AdamWStep: Sendable, Equatable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    public var step: Int

    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0.01, step: Int) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.step = step
    }

    /// 1 − β₁ᵗ, computed in Double as PyTorch does on the host.
    public var biasCorrection1: Float { Float(1 - Foundation.pow(Double(beta1), Double(step))) }
    /// √(1 − β₂ᵗ).
    public var biasCorrection2Sqrt: Float { Float((1 - Foundation.pow(Double(beta2), Double(step))).squareRoot()) }
}
