import Core
import Tensors

/// The odds-ratio term of ORPO (Hong et al., 2024; TRL's `ORPOTrainer` in `trl.experimental`),
/// which needs no reference model (docs/formats.md §6.6). With ā the mean per-token log-prob of
/// a completion and odds(y) = P̄(y) / (1 − P̄(y)) for P̄ = e^ā:
///
///     log_odds = (ā_w − ā_l) − (log(1 − e^ā_w) − log(1 − e^ā_l))
///     L_OR = −β · mean(log σ(log_odds))
///
/// The stage adds the chosen completions' NLL (`PreferenceObjective`), so the whole loss is
/// NLL − β·mean(log σ(log_odds)), as TRL computes it. β is the paper's λ (TRL default 0.1).
public struct ORPOLoss: Sendable {
    /// β, the weight of the odds-ratio term.
    public var beta: Float

    public init(beta: Float = 0.1) {
        self.beta = beta
    }

    /// The odds-ratio term over pairs, the rewards β·ā, and TRL's `log_odds_ratio` (mean
    /// log σ(log_odds)) and `log_odds_chosen` (mean log_odds).
    public func callAsFunction(policy: PairLogProbs) throws -> PreferenceLossOutput {
        let averaged = try policy.lengthNormalized()
        let logOdds =
            try (averaged.chosen - averaged.rejected)
            - (Self.logOneMinusExp(averaged.chosen) - Self.logOneMinusExp(averaged.rejected))
        let ratio = try logOdds.logSigmoid()
        let loss = try ratio.mean().scaled(by: -beta)
        let ratios = try ratio.detached().values()
        let odds = try logOdds.detached().values()
        func mean(_ values: [Float]) -> Double { values.reduce(0) { $0 + Double($1) } / Double(max(values.count, 1)) }
        return try PreferenceLossOutput(
            loss: loss, chosenRewards: averaged.chosen.detached().scaled(by: beta),
            rejectedRewards: averaged.rejected.detached().scaled(by: beta),
            extraMetrics: ["log_odds_ratio": mean(ratios), "log_odds_chosen": mean(odds)])
    }

    /// log(1 − eˣ) for x < 0, without the cancellation of 1 − eˣ near 0: with t = tanh(x/2),
    /// eˣ − 1 = 2t/(1 − t), so log(1 − eˣ) = log(−2t) − log(1 − t).
    static func logOneMinusExp(_ x: Tensor) throws -> Tensor {
        let t = try x.scaled(by: 0.5).tanh()
        return try t.scaled(by: -2).log() - (1 - t).log()
    }
}
