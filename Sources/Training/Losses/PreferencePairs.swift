import Core
import Inference
import Tensors

/// The completion log-probs of the chosen and rejected completion of each preference pair, as
/// the DPO family and SimPO take them (docs/formats.md §6.3–6.4).
public struct PairLogProbs {
    /// LP(y_w) per pair, [pairs]: summed log-probs of the chosen completions.
    public let chosen: Tensor
    /// LP(y_l) per pair, [pairs].
    public let rejected: Tensor
    /// Completion tokens of each chosen completion (the length normalisation of IPO and SimPO).
    public let chosenTokenCounts: [Int]
    /// Completion tokens of each rejected completion.
    public let rejectedTokenCounts: [Int]

    /// Pairs from summed log-probs and token counts (one of each per pair).
    public init(chosen: Tensor, rejected: Tensor, chosenTokenCounts: [Int], rejectedTokenCounts: [Int]) throws {
        let pairs = chosen.count
        guard rejected.count == pairs, chosenTokenCounts.count == pairs, rejectedTokenCounts.count == pairs else {
            throw DeviceError.shapeMismatch(
                operation: "PairLogProbs (chosen, rejected)", lhs: chosen.shape, rhs: rejected.shape)
        }
        self.chosen = try chosen.reshaped([pairs])
        self.rejected = try rejected.reshaped([pairs])
        self.chosenTokenCounts = chosenTokenCounts
        self.rejectedTokenCounts = rejectedTokenCounts
    }

    /// Pairs from the log-probs of the chosen and of the rejected sequences (same count).
    public init(chosen: SequenceLogProbs, rejected: SequenceLogProbs) throws {
        try self.init(
            chosen: chosen.sums, rejected: rejected.sums,
            chosenTokenCounts: chosen.tokenCounts, rejectedTokenCounts: rejected.tokenCounts)
    }

    /// Number of pairs.
    public var count: Int { chosen.count }

    /// The same pairs with gradients cut: a frozen reference model's log-probs.
    public func detached() throws -> PairLogProbs {
        try PairLogProbs(
            chosen: chosen.detached(), rejected: rejected.detached(),
            chosenTokenCounts: chosenTokenCounts, rejectedTokenCounts: rejectedTokenCounts)
    }

    /// Each side divided by its token count (LP → ALP).
    func lengthNormalized() throws -> PairLogProbs {
        func divided(_ values: Tensor, _ counts: [Int]) throws -> Tensor {
            try values
                * Tensor(
                    device: values.device, shape: [counts.count], values: counts.map { 1 / Float(max($0, 1)) },
                    label: "1/token count")
        }
        return try PairLogProbs(
            chosen: divided(chosen, chosenTokenCounts), rejected: divided(rejected, rejectedTokenCounts),
            chosenTokenCounts: chosenTokenCounts, rejectedTokenCounts: rejectedTokenCounts)
    }

    /// Throws unless `other` has as many pairs on the same device.
    func requireMatches(_ other: PairLogProbs, _ operation: String) throws {
        guard other.count == count, other.chosen.device === chosen.device else {
            throw DeviceError.shapeMismatch(
                operation: "\(operation) (policy against reference pairs)", lhs: chosen.shape, rhs: other.chosen.shape)
        }
    }
}

/// A preference loss and the implicit-reward metrics TRL logs with it.
public struct PreferenceLossOutput {
    /// The loss, a scalar: the mean over pairs.
    public let loss: Tensor
    /// The implicit reward of each chosen completion (β·log-ratio for DPO, β·ALP for SimPO).
    public let chosenRewards: [Float]
    /// The implicit reward of each rejected completion.
    public let rejectedRewards: [Float]

    /// Builds the output, reading the rewards from the device.
    init(loss: Tensor, chosenRewards: Tensor, rejectedRewards: Tensor) throws {
        self.loss = loss
        self.chosenRewards = try chosenRewards.values()
        self.rejectedRewards = try rejectedRewards.values()
    }

    /// The metrics under TRL's names: `rewards/chosen`, `rewards/rejected`, `rewards/margins`
    /// (means over pairs) and `rewards/accuracies` (fraction of pairs whose chosen reward is
    /// strictly larger).
    public var metrics: [String: Double] {
        let pairs = Double(chosenRewards.count)
        let margins = zip(chosenRewards, rejectedRewards).map { Double($0) - Double($1) }
        return [
            "rewards/chosen": chosenRewards.reduce(0) { $0 + Double($1) } / pairs,
            "rewards/rejected": rejectedRewards.reduce(0) { $0 + Double($1) } / pairs,
            "rewards/margins": margins.reduce(0, +) / pairs,
            "rewards/accuracies": Double(margins.filter { $0 > 0 }.count) / pairs,
        ]
    }
}

extension Tensor {
    /// −(1−ε)·log σ(x) − ε·log σ(−x) elementwise: the sigmoid preference loss with label
    /// smoothing ε (the conservative DPO of TRL ≤ 0.28; plain −log σ(x) when ε is 0).
    func smoothedSigmoidLoss(labelSmoothing epsilon: Float) throws -> Tensor {
        let positive = try logSigmoid().scaled(by: -(1 - epsilon))
        guard epsilon != 0 else { return positive }
        return try positive - negated().logSigmoid().scaled(by: epsilon)
    }
}
