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

    /// The project's one set of AdamW defaults, which the optimizer and every recipe's `optim:`
    /// section take: the language-model pretraining values of GPT-3, nanoGPT and llm.c
    /// (β₂ 0.95, weight decay 0.1) rather than PyTorch's general-purpose 0.999 and 0.01.
    /// Post-training recipes set their own weight decay (0, as TRL's trainers do).
    public enum Defaults {
        public static let beta1 = 0.9
        public static let beta2 = 0.95
        public static let epsilon = 1e-8
        public static let weightDecay = 0.1
    }

    public init(
        learningRate: Float, beta1: Float = Float(Defaults.beta1), beta2: Float = Float(Defaults.beta2),
        epsilon: Float = Float(Defaults.epsilon), weightDecay: Float = Float(Defaults.weightDecay), step: Int
    ) {
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
