import Core
import Foundation
import Inference

/// The rollout half of PPO (docs/formats.md §6.7 steps 4–7): KL-shaped per-token rewards, generalised
/// advantage estimation and advantage whitening. It is a pure function of host arrays:
/// advantages and returns are constants of the optimisation that follows, so they are computed
/// once per rollout, in Double.
///
/// Arrays are row-major [sequences, length] over the response tokens; the mask marks the valid
/// response tokens, and s (the last valid index of a sequence) is where the response ends.
public struct PPOAdvantageEstimator: Sendable {
    /// Which token receives the sequence score S.
    public enum ScorePlacement: Sendable {
        /// At s, the last response token (OpenRLHF; the classic formulation). Values and
        /// rewards after s are 0, so advantages after s are 0. The default.
        case lastToken
        /// At s + 1 when it fits, else at s, with values kept through s + 1 (TRL's
        /// `PPOTrainer`): the score reaches A_s through the γλ term of position s + 1.
        case afterLastToken
    }

    /// The KL coefficient of the reward shaping (TRL `kl_coef`, 0.05).
    public var klCoefficient: Double
    /// The per-token KL estimator (TRL `kl_estimator`, k1).
    public var klEstimator: KLEstimator
    /// The discount γ (TRL 1.0).
    public var gamma: Double
    /// The GAE λ (TRL `lam`, 0.95).
    public var lambda: Double
    /// Where the score goes.
    public var scorePlacement: ScorePlacement

    /// An estimator with TRL's defaults unless stated.
    public init(
        klCoefficient: Double = 0.05, klEstimator: KLEstimator = .k1, gamma: Double = 1, lambda: Double = 0.95,
        scorePlacement: ScorePlacement = .lastToken
    ) {
        self.klCoefficient = klCoefficient
        self.klEstimator = klEstimator
        self.gamma = gamma
        self.lambda = lambda
        self.scorePlacement = scorePlacement
    }

    /// What one rollout yields, each row-major [sequences, length].
    public struct Estimate: Sendable {
        /// KL estimate per token (0 outside the mask).
        public var kl: [Double]
        /// r_t = −kl_coef·kl_t, plus the score at its placement.
        public var rewards: [Double]
        /// Whitened advantages, 0 outside the mask: the policy-loss weights.
        public var advantages: [Double]
        /// G_t = A_t + V_t with the advantages before whitening: the value-loss targets.
        public var returns: [Double]
    }

    /// Rewards, advantages and returns of a rollout from the sampling policy's log-probs, the
    /// reference model's log-probs and the value model's values (one per response token) and one
    /// score per sequence.
    public func estimate(
        logProbs: [Float], referenceLogProbs: [Float], values: [Float], scores: [Float], mask: TokenMask
    ) throws -> Estimate {
        let length = mask.length
        let tokens = mask.sequences * length
        guard logProbs.count == tokens, referenceLogProbs.count == tokens, values.count == tokens,
            scores.count == mask.sequences
        else {
            throw DeviceError.shapeMismatch(
                operation: "PPOAdvantageEstimator (log-probs, reference, values, scores against mask \(mask.shape))",
                lhs: [logProbs.count, referenceLogProbs.count, values.count, scores.count],
                rhs: [tokens, tokens, tokens, mask.sequences])
        }
        var estimate = Estimate(kl: [], rewards: [], advantages: [], returns: [])
        for row in 0..<mask.sequences {
            let range = row * length..<(row + 1) * length
            let valid = Array(mask.isIncluded[range])
            let kl = range.map { i in
                mask.isIncluded[i]
                    ? klEstimator.perToken(logProb: Double(logProbs[i]), referenceLogProb: Double(referenceLogProbs[i]))
                    : 0
            }
            var rewards = kl.map { -klCoefficient * $0 }
            var rowValues = range.map { Double(values[$0]) }
            if let last = valid.lastIndex(of: true) {
                let scoreIndex = scorePlacement == .afterLastToken && last + 1 < length ? last + 1 : last
                rewards[scoreIndex] += Double(scores[row])
                let lastValue = scorePlacement == .afterLastToken ? last + 1 : last
                for t in rowValues.indices where t > lastValue { rowValues[t] = 0 }
            } else {
                rowValues = rowValues.map { _ in 0 }
            }
            let (advantages, returns) = Self.generalizedAdvantages(
                rewards: rewards, values: rowValues, gamma: gamma, lambda: lambda)
            estimate.kl += kl
            estimate.rewards += rewards
            estimate.advantages += advantages
            estimate.returns += returns
        }
        estimate.advantages = Self.whitened(estimate.advantages, mask: mask)
        return estimate
    }

    /// GAE over one sequence (reverse over t, V_T = 0): δ_t = r_t + γ·V_{t+1} − V_t,
    /// A_t = δ_t + γλ·A_{t+1}; returns G_t = A_t + V_t.
    public static func generalizedAdvantages(rewards: [Double], values: [Double], gamma: Double, lambda: Double) -> (
        advantages: [Double], returns: [Double]
    ) {
        precondition(
            rewards.count == values.count, "generalizedAdvantages: \(rewards.count) rewards but \(values.count) values")
        var advantages = [Double](repeating: 0, count: rewards.count)
        var next = 0.0
        var nextValue = 0.0
        for t in rewards.indices.reversed() {
            let delta = rewards[t] + gamma * nextValue - values[t]
            next = delta + gamma * lambda * next
            advantages[t] = next
            nextValue = values[t]
        }
        return (advantages, zip(advantages, values).map(+))
    }

    /// (x − mean)/√(var + 1e-8) over the included tokens with the unbiased (Bessel) variance,
    /// 0 elsewhere (TRL's `masked_whiten`). With fewer than two tokens the variance is taken as 0.
    public static func whitened(_ values: [Double], mask: TokenMask) -> [Double] {
        let included = zip(values, mask.isIncluded).filter(\.1).map(\.0)
        guard !included.isEmpty else { return values.map { _ in 0 } }
        let mean = included.reduce(0, +) / Double(included.count)
        let squares = included.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        let variance = included.count > 1 ? squares / Double(included.count - 1) : 0
        let scale = 1 / (variance + 1e-8).squareRoot()
        return zip(values, mask.isIncluded).map { $1 ? ($0 - mean) * scale : 0 }
    }
}
