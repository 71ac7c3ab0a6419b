import Tensors

/// SimPO (TRL `CPOTrainer` with `loss_type="simpo"`, docs/formats.md §6.4): reference-free and
/// length-normalised. With s = ALP_θ(y), the loss per pair is −log σ(β·((s_w − s_l) − γ/β)),
/// i.e. −log σ(β(s_w − s_l) − γ), label-smoothed like conservative DPO when ε > 0; mean over pairs.
///
/// CPO's `α·NLL(chosen)` term is not part of this loss: with `cpo_alpha` > 0, add the chosen
/// completions' token-mean cross-entropy (`Tensor.crossEntropy`) scaled by α.
public struct SimPOLoss: Sendable {
    /// β (TRL default 0.1; the SimPO paper uses about 2–2.5).
    public var beta: Float
    /// The target reward margin γ (TRL `simpo_gamma`, default 0.5).
    public var gamma: Float
    /// Label smoothing ε (0: plain SimPO).
    public var labelSmoothing: Float

    /// A loss with the given β, γ and ε.
    public init(beta: Float = 0.1, gamma: Float = 0.5, labelSmoothing: Float = 0) {
        self.beta = beta
        self.gamma = gamma
        self.labelSmoothing = labelSmoothing
    }

    /// The mean loss over pairs, and the implicit rewards β·ALP_θ.
    public func callAsFunction(policy: PairLogProbs) throws -> PreferenceLossOutput {
        let normalized = try policy.lengthNormalized()
        let logits = try (normalized.chosen - normalized.rejected) - gamma / beta
        return try PreferenceLossOutput(
            loss: logits.scaled(by: beta).smoothedSigmoidLoss(labelSmoothing: labelSmoothing).mean(),
            chosenRewards: normalized.chosen.detached().scaled(by: beta),
            rejectedRewards: normalized.rejected.detached().scaled(by: beta))
    }
}
