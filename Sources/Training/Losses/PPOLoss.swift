import Core
import Inference
import Tensors

/// The optimisation half of PPO (TRL `PPOTrainer`, docs/formats.md §6.7): the clipped policy loss and
/// the clipped value loss on one minibatch of a rollout.
///
/// Per token, with ratio = exp(logp′ − logp_old):
/// policy loss max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)), masked mean over the response tokens;
/// value loss 0.5·masked mean of max((V′ − G)², (V_old + clip(V′ − V_old, −ε_v, ε_v) − G)²);
/// total = policy + vf_coef·value. Gradients flow to `logProbs` and `values` only.
public struct PPOLoss: Sendable {
    /// ε of the ratio clip (TRL `cliprange`, 0.2).
    public var clipRange: Float
    /// ε_v of the value clip (TRL `cliprange_value`, 0.2).
    public var valueClipRange: Float
    /// The weight of the value loss (TRL `vf_coef`, 0.1).
    public var valueCoefficient: Float

    /// A loss with TRL's defaults unless stated.
    public init(clipRange: Float = 0.2, valueClipRange: Float = 0.2, valueCoefficient: Float = 0.1) {
        self.clipRange = clipRange
        self.valueClipRange = valueClipRange
        self.valueCoefficient = valueCoefficient
    }

    /// The losses and the logged statistics.
    public struct Output {
        /// pg_loss + vf_coef·vf_loss, a scalar.
        public let loss: Tensor
        /// The clipped policy loss, a scalar.
        public let policyLoss: Tensor
        /// The clipped value loss (with its 0.5), a scalar.
        public let valueLoss: Tensor
        /// Fraction of response tokens where the clipped policy term was the larger (TRL `policy/clipfrac`).
        public let policyClipFraction: Double
        /// Fraction of value tokens where the clipped value term was the larger (TRL `val/clipfrac`).
        public let valueClipFraction: Double
        /// 0.5·mean((logp′ − logp_old)²) over the response tokens (TRL `policy/approxkl`; TRL
        /// averages over padding too, where the difference is 0, which only rescales it).
        public let approximateKL: Double
    }

    /// The losses of one minibatch. All tensors are [sequences, length] (or as many elements);
    /// `oldLogProbs`, `advantages`, `oldValues` and `returns` come from the rollout and are
    /// treated as constants. `valueMask` defaults to `mask`; TRL's score placement after the
    /// last token also trains the value at s + 1, which a mask one token longer expresses.
    public func callAsFunction(
        logProbs: Tensor, oldLogProbs: Tensor, advantages: Tensor,
        values: Tensor, oldValues: Tensor, returns: Tensor,
        mask: TokenMask, valueMask: TokenMask? = nil
    ) throws -> Output {
        let valueMask = valueMask ?? mask
        guard valueMask.shape == mask.shape else {
            throw DeviceError.shapeMismatch(
                operation: "PPOLoss (value mask against token mask)", lhs: valueMask.shape, rhs: mask.shape)
        }
        for tensor in [logProbs, oldLogProbs, advantages, values, oldValues, returns] {
            try mask.require(tensor, "PPOLoss")
        }
        let shape = mask.shape
        let logProbs = try logProbs.reshaped(shape)
        let values = try values.reshaped(shape)
        let oldLogProbs = try oldLogProbs.detached().reshaped(shape)
        let advantages = try advantages.detached().reshaped(shape)
        let oldValues = try oldValues.detached().reshaped(shape)
        let returns = try returns.detached().reshaped(shape)

        let logRatio = try logProbs - oldLogProbs
        let ratio = try logRatio.exp()
        let unclipped = try (advantages * ratio).negated()
        let clipped = try (advantages * ratio.clamped(to: (1 - clipRange)...(1 + clipRange))).negated()
        let policyLoss = try mask.mean(unclipped.maximum(clipped), "PPOLoss policy")

        let clippedValues = try oldValues + (values - oldValues).clamped(to: -valueClipRange...valueClipRange)
        let valueErrors = try (values - returns).squared()
        let clippedValueErrors = try (clippedValues - returns).squared()
        let valueLoss = try valueMask.mean(valueErrors.maximum(clippedValueErrors), "PPOLoss value").scaled(by: 0.5)

        return Output(
            loss: try policyLoss + valueLoss.scaled(by: valueCoefficient),
            policyLoss: policyLoss,
            valueLoss: valueLoss,
            policyClipFraction: try mask.fraction(clipped, exceeds: unclipped),
            valueClipFraction: try valueMask.fraction(clippedValueErrors, exceeds: valueErrors),
            approximateKL: 0.5 * mask.mean(of: try logRatio.values().map { $0 * $0 }))
    }
}

extension TokenMask {
    /// Fraction of included tokens where `a` > `b` (a host statistic for logging).
    func fraction(_ a: Tensor, exceeds b: Tensor) throws -> Double {
        mean(of: zip(try a.values(), try b.values()).map { $0 > $1 ? 1 : 0 })
    }
}
