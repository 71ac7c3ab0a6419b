import Core
import Inference
import Tensors

/// GRPO's clipped objective (TRL `GRPOTrainer`, docs/formats.md §6.8). Per token, with
/// ratio = exp(logp_θ − logp_old) and the completion's advantage A:
/// ℓ_t = −min(ratio·A, clip(ratio, 1−ε_low, 1+ε_high)·A) + β·k3_t, where k3 is the KL
/// estimate against the reference model (only when β > 0); then aggregated as `aggregation` says.
public struct GRPOLoss: Sendable {
    /// How per-token losses become the loss (TRL `loss_type`).
    public enum Aggregation: Sendable, Equatable {
        /// Mean over each sequence's tokens, then mean over sequences (the paper's; length-biased).
        case grpo
        /// Sum over all tokens / number of valid tokens of this batch.
        case bnpo
        /// Sum over all tokens / the token count of the whole accumulated step (TRL's current default;
        /// equals `bnpo` without accumulation).
        case dapo(tokenCount: Int)
        /// Sum over all tokens / (sequences · `max_completion_length`).
        case drGRPO(maxCompletionLength: Int)
    }

    /// ε_low of the ratio clip (TRL `epsilon`, 0.2).
    public var epsilonLow: Float
    /// ε_high of the ratio clip (TRL `epsilon_high`, defaults to ε).
    public var epsilonHigh: Float
    /// The KL weight β (TRL 0.0 since 0.19, 0.04 before).
    public var beta: Float
    /// The aggregation.
    public var aggregation: Aggregation

    /// A loss with the given clip range, KL weight and aggregation.
    public init(epsilonLow: Float = 0.2, epsilonHigh: Float? = nil, beta: Float = 0, aggregation: Aggregation = .bnpo) {
        self.epsilonLow = epsilonLow
        self.epsilonHigh = epsilonHigh ?? epsilonLow
        self.beta = beta
        self.aggregation = aggregation
    }

    /// The loss and the logged statistics.
    public struct Output {
        /// The loss, a scalar.
        public let loss: Tensor
        /// Masked mean of the k3 KL estimate (nil when β is 0).
        public let meanKL: Double?
        /// Fraction of tokens clipped at 1−ε_low with A < 0 (TRL `clip_ratio/low_mean`).
        public let lowClipFraction: Double
        /// Fraction of tokens clipped at 1+ε_high with A > 0 (TRL `clip_ratio/high_mean`).
        public let highClipFraction: Double
        /// Either of the two (TRL `clip_ratio/region_mean`).
        public var clipFraction: Double { lowClipFraction + highClipFraction }
    }

    /// The loss of completions with per-token `logProbs` ([sequences, length], differentiable),
    /// one advantage per sequence, and the sampling policy's log-probs `oldLogProbs` (nil: one
    /// update per generation, where logp_old is the detached current log-probs and the ratio is 1
    /// with the gradient of logp_θ). `referenceLogProbs` is needed when β > 0.
    public func callAsFunction(
        logProbs: Tensor, oldLogProbs: Tensor? = nil, referenceLogProbs: Tensor? = nil, advantages: [Float],
        mask: TokenMask
    ) throws -> Output {
        guard advantages.count == mask.sequences else {
            throw DeviceError.shapeMismatch(
                operation: "GRPOLoss (advantages per sequence)", lhs: [advantages.count], rhs: [mask.sequences])
        }
        try mask.require(logProbs, "GRPOLoss")
        let device = logProbs.device
        let shape = mask.shape
        let logProbs = try logProbs.reshaped(shape)
        let old = (oldLogProbs ?? logProbs).detached()
        try mask.require(old, "GRPOLoss old log-probs")
        let advantage = try Tensor(device: device, shape: [mask.sequences, 1], values: advantages, label: "advantages")

        let logRatio = try logProbs - old.reshaped(shape)
        let ratio = try logRatio.exp()
        let clippedRatio = try ratio.clamped(to: (1 - epsilonLow)...(1 + epsilonHigh))
        var perToken = try (ratio * advantage).minimum(clippedRatio * advantage).negated()
        var meanKL: Double?
        if beta != 0 {
            guard let referenceLogProbs else {
                throw DeviceError.invalidArgument(
                    operation: "GRPOLoss", message: "β = \(beta) needs reference log-probs")
            }
            try mask.require(referenceLogProbs, "GRPOLoss reference log-probs")
            let kl = try KLEstimator.k3.perToken(
                logProbs: logProbs, referenceLogProbs: referenceLogProbs.detached().reshaped(shape))
            perToken = try perToken + kl.scaled(by: beta)
            meanKL = mask.mean(of: try kl.values())
        }

        let loss: Tensor
        switch aggregation {
        case .grpo: loss = try mask.means(perToken, "GRPOLoss").mean()
        case .bnpo: loss = try mask.mean(perToken, "GRPOLoss")
        case .dapo(let tokenCount): loss = try mask.sum(perToken, dividedBy: tokenCount, "GRPOLoss")
        case .drGRPO(let maxLength): loss = try mask.sum(perToken, dividedBy: mask.sequences * maxLength, "GRPOLoss")
        }

        let ratios = try ratio.values()
        let clipped = { (test: (Float, Float) -> Bool) in
            mask.mean(of: ratios.indices.map { test(ratios[$0], advantages[$0 / mask.length]) ? 1 : 0 })
        }
        return Output(
            loss: loss, meanKL: meanKL,
            lowClipFraction: clipped { $0 < 1 - epsilonLow && $1 < 0 },
            highClipFraction: clipped { $0 > 1 + epsilonHigh && $1 > 0 })
    }
}

extension GRPOLoss {
    /// The loss's units in a micro-batch with `mask`, for `GradientAccumulation` (each
    /// micro-batch's loss a mean over its units): sequences for the per-sequence means (grpo,
    /// dr_grpo), completion tokens for DAPO's token mean, and one per micro-batch for BNPO, whose
    /// per-batch token means TRL averages over the micro-batches. So the micro-batches of a step
    /// accumulate the gradient of the step's loss as TRL defines it for each `loss_type`.
    public func accumulationUnits(of mask: TokenMask) -> Int {
        switch aggregation {
        case .grpo, .drGRPO: return mask.sequences
        case .dapo: return mask.total
        case .bnpo: return 1
        }
    }

    /// The loss of one micro-batch with `mask`, a mean over its `accumulationUnits`: DAPO's
    /// denominator becomes the micro-batch's own tokens.
    public func overMicroBatch(_ mask: TokenMask) -> GRPOLoss {
        guard case .dapo = aggregation else { return self }
        var loss = self
        loss.aggregation = .dapo(tokenCount: mask.total)
        return loss
    }
}
