import Core
import Tensors

/// The DPO family of TRL's `DPOTrainer` (docs/formats.md §6.3): losses of the policy's log-ratios
/// against a frozen reference, ρ = LP_θ(y) − LP_ref(y), through Δ = ρ_w − ρ_l, averaged over pairs.
///
/// The reference log-probs are treated as constants (their gradients are cut), so they may come
/// from a forward pass under `Tensor.withNoGrad` or from a precomputed file. Passing no
/// reference is TRL's `reference_free`: the reference log-ratios are 0.
///
/// Soft labels: with p the probability that a pair's chosen completion is better (a judge's
/// `chosen_probability`), `sigmoid` becomes the cross-entropy −p·log σ(βΔ) − (1−p)·log σ(−βΔ),
/// so p = 1 − ε for every pair is conservative DPO with label smoothing ε; `conservative`
/// smooths the soft label, p·(1−ε) + (1−p)·ε. The other variants take hard labels only.
public struct DPOLoss: Sendable {
    /// The loss of one pair as a function of x = β·Δ.
    public enum Variant: Sendable, Equatable {
        /// −log σ(βΔ) (DPO).
        case sigmoid
        /// −(1−ε)·log σ(βΔ) − ε·log σ(−βΔ): conservative DPO, the label-smoothed `sigmoid` of TRL ≤ 0.28.
        case conservative(labelSmoothing: Float)
        /// [−(1−ε)·log σ(βΔ) + ε·log σ(−βΔ)] / (1−2ε): robust DPO (ε < 0.5).
        case robust(labelSmoothing: Float)
        /// max(0, 1 − βΔ) (SLiC).
        case hinge
        /// (Δ̄ − 1/(2β))², with Δ̄ from length-normalised log-ratios (each side divided by its
        /// completion token count, policy and reference alike); β plays the paper's τ.
        case ipo
    }

    /// β (TRL default 0.1).
    public var beta: Float
    /// Which loss of the family.
    public var variant: Variant

    /// A loss with the given β and variant.
    public init(beta: Float = 0.1, variant: Variant = .sigmoid) {
        self.beta = beta
        self.variant = variant
    }

    /// Whether the variant takes soft labels (`sigmoid`, `conservative`).
    public var acceptsSoftLabels: Bool {
        switch variant {
        case .sigmoid, .conservative: return true
        case .robust, .hinge, .ipo: return false
        }
    }

    /// The mean loss over pairs, and the implicit rewards β·ρ (of the normalised ratios for IPO);
    /// `chosenProbabilities` are the soft labels (nil: every label is 1).
    public func callAsFunction(policy: PairLogProbs, reference: PairLogProbs?, chosenProbabilities: [Float]? = nil)
        throws -> PreferenceLossOutput
    {
        let labels = try requireChosenProbabilities(chosenProbabilities, pairs: policy.count, "DPOLoss")
        if !acceptsSoftLabels, labels.contains(where: { $0 != 1 }) {
            throw DeviceError.invalidArgument(
                operation: "DPOLoss", message: "soft labels need the sigmoid or conservative loss, not \(variant)")
        }
        if case .robust(let epsilon) = variant, !(epsilon < 0.5) {
            throw DeviceError.invalidArgument(
                operation: "DPOLoss", message: "robust label smoothing \(epsilon) must be below 0.5")
        }
        let normalize = variant == .ipo
        let policy = normalize ? try policy.lengthNormalized() : policy
        var chosenRatio = policy.chosen
        var rejectedRatio = policy.rejected
        if let reference {
            try policy.requireMatches(reference, "DPOLoss")
            let frozen = try (normalize ? reference.lengthNormalized() : reference).detached()
            chosenRatio = try chosenRatio - frozen.chosen
            rejectedRatio = try rejectedRatio - frozen.rejected
        }
        let delta = try chosenRatio - rejectedRatio
        let losses: Tensor
        switch variant {
        case .sigmoid:
            losses = try delta.scaled(by: beta).sigmoidCrossEntropy(targets: labels)
        case .conservative(let epsilon):
            let smoothed = labels.map { $0 * (1 - epsilon) + (1 - $0) * epsilon }
            losses = try delta.scaled(by: beta).sigmoidCrossEntropy(targets: smoothed)
        case .robust(let epsilon):
            let x = try delta.scaled(by: beta)
            let pulled = try x.logSigmoid().scaled(by: -(1 - epsilon))
            losses = try (pulled + x.negated().logSigmoid().scaled(by: epsilon)).scaled(by: 1 / (1 - 2 * epsilon))
        case .hinge:
            losses = try (1 - delta.scaled(by: beta)).relu()
        case .ipo:
            losses = try (delta - 1 / (2 * beta)).squared()
        }
        return try PreferenceLossOutput(
            loss: losses.mean(),
            chosenRewards: chosenRatio.detached().scaled(by: beta),
            rejectedRewards: rejectedRatio.detached().scaled(by: beta))
    }
}
