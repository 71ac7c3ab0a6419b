import Core
import Tensors

/// KTO (Ethayarajh et al., 2024; TRL's `KTOTrainer`, `loss_type: kto`): a loss of unpaired
/// completions, each desirable or undesirable (docs/formats.md §6.5). With ρ = LP_θ(y|x) −
/// LP_ref(y|x) the completion's log-ratio and z the reference point,
///
///     desirable:   w_d · (1 − σ(β·(ρ − z)))
///     undesirable: w_u · (1 − σ(β·(z − ρ)))
///
/// averaged over the batch's completions. z estimates the policy's KL divergence from the
/// reference as TRL does: the mean log-ratio of the batch's mismatched sequences (each prompt
/// with another completion of the batch), clamped at 0 and held constant (no gradient).
public struct KTOLoss: Sendable {
    /// β (TRL default 0.1).
    public var beta: Float
    /// w_d and w_u (TRL's `desirable_weight`, `undesirable_weight`; 1 each by default).
    public var desirableWeight: Float
    public var undesirableWeight: Float

    public init(beta: Float = 0.1, desirableWeight: Float = 1, undesirableWeight: Float = 1) {
        self.beta = beta
        self.desirableWeight = desirableWeight
        self.undesirableWeight = undesirableWeight
    }

    /// The loss of a batch. `policy` and `reference` hold, per completion, the summed log-probs
    /// of the completion (`chosen`) and of its mismatched sequence (`rejected`); `desirable` is
    /// each completion's label. Metrics under TRL's names: `kl` (z), `rewards/chosen` and
    /// `logps/chosen` (means over the desirable completions), the same `/rejected` over the
    /// undesirable ones, and `rewards/margins` when the batch has both.
    public func callAsFunction(policy: PairLogProbs, reference: PairLogProbs, desirable: [Bool]) throws
        -> PreferenceLossOutput
    {
        try policy.requireMatches(reference, "KTOLoss")
        guard desirable.count == policy.count, policy.count > 0 else {
            throw DeviceError.invalidArgument(
                operation: "KTOLoss",
                message: "needs one label per completion (\(policy.count)), got \(desirable.count)")
        }
        let mismatched = zip(try policy.rejected.values(), try reference.rejected.values()).map { $0 - $1 }
        let kl = max(0, mismatched.reduce(0, +) / Float(mismatched.count))
        let ratios = try policy.chosen - reference.chosen.detached()
        let device = ratios.device
        let count = desirable.count
        // 1 − σ(y) = σ(−y): each completion's term is w·σ(−β·s·(ρ − z)), s = ±1 by its label.
        let slopes = desirable.map { $0 ? -beta : beta }
        let weights = desirable.map { $0 ? desirableWeight : undesirableWeight }
        let terms =
            try ((ratios - kl) * Tensor(device: device, shape: [count], values: slopes, label: "−β·label"))
            .sigmoid() * Tensor(device: device, shape: [count], values: weights, label: "KTO weights")
        let rewards = try ratios.detached().values().map { Double(beta * $0) }
        let logProbs = try policy.chosen.detached().values()
        func mean(_ values: [Double], _ wanted: Bool) -> Double? {
            let picked = zip(values, desirable).filter { $0.1 == wanted }.map(\.0)
            return picked.isEmpty ? nil : picked.reduce(0, +) / Double(picked.count)
        }
        var metrics = ["kl": Double(kl)]
        let logs = logProbs.map(Double.init)
        metrics["rewards/chosen"] = mean(rewards, true)
        metrics["rewards/rejected"] = mean(rewards, false)
        metrics["logps/chosen"] = mean(logs, true)
        metrics["logps/rejected"] = mean(logs, false)
        if let chosen = metrics["rewards/chosen"], let rejected = metrics["rewards/rejected"] {
            metrics["rewards/margins"] = chosen - rejected
        }
        return PreferenceLossOutput(loss: try terms.mean(), metrics: metrics)
    }
}
