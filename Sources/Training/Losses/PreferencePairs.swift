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

/// A preference loss and the metrics TRL logs with it.
public struct PreferenceLossOutput {
    /// The loss, a scalar: the mean over pairs (over examples for KTO).
    public let loss: Tensor
    /// The metrics under TRL's names.
    public let metrics: [String: Double]

    /// A loss with its own metrics.
    init(loss: Tensor, metrics: [String: Double]) {
        self.loss = loss
        self.metrics = metrics
    }

    /// A pairwise loss with the implicit reward of each chosen and rejected completion (β·log-ratio
    /// for DPO, β·ALP for SimPO and ORPO), read from the device, as TRL's metrics:
    /// `rewards/chosen`, `rewards/rejected`, `rewards/margins` (means over pairs) and
    /// `rewards/accuracies` (fraction of pairs whose chosen reward is strictly larger), with
    /// `extraMetrics` beside them.
    init(loss: Tensor, chosenRewards: Tensor, rejectedRewards: Tensor, extraMetrics: [String: Double] = [:]) throws {
        let chosen = try chosenRewards.values()
        let rejected = try rejectedRewards.values()
        let pairs = Double(chosen.count)
        let margins = zip(chosen, rejected).map { Double($0) - Double($1) }
        self.loss = loss
        self.metrics = [
            "rewards/chosen": chosen.reduce(0) { $0 + Double($1) } / pairs,
            "rewards/rejected": rejected.reduce(0) { $0 + Double($1) } / pairs,
            "rewards/margins": margins.reduce(0, +) / pairs,
            "rewards/accuracies": Double(margins.filter { $0 > 0 }.count) / pairs,
        ].merging(extraMetrics) { $1 }
    }
}

extension Tensor {
    /// −(1−ε)·log σ(x) − ε·log σ(−x) elementwise: the sigmoid preference loss with label
    /// smoothing ε (the conservative DPO of TRL ≤ 0.28; plain −log σ(x) when ε is 0).
    func smoothedSigmoidLoss(labelSmoothing epsilon: Float) throws -> Tensor {
        try sigmoidCrossEntropy(targets: Array(repeating: 1 - epsilon, count: count))
    }

    /// −q·log σ(x) − (1−q)·log σ(−x) elementwise, one target q per element: the cross-entropy
    /// of σ(x), the modelled probability that the first of a pair is better, against q (1 for a
    /// hard label, a judge's probability for a soft one, 1 − ε under label smoothing ε).
    func sigmoidCrossEntropy(targets: [Float]) throws -> Tensor {
        let pulled = try logSigmoid()
        if targets.allSatisfy({ $0 == 1 }) { return try pulled.negated() }
        func constant(_ values: [Float], _ label: String) throws -> Tensor {
            try Tensor(device: device, shape: shape, values: values, label: label)
        }
        let forward = try constant(targets, "preference targets") * pulled
        let flipped = try constant(targets.map { 1 - $0 }, "1 − preference targets") * negated().logSigmoid()
        return try (forward + flipped).negated()
    }
}

/// The probability that each pair's chosen completion is the better one, as the losses take it:
/// nil (every label hard) or one value in [0, 1] per pair.
func requireChosenProbabilities(_ probabilities: [Float]?, pairs: Int, _ operation: String) throws -> [Float] {
    guard let probabilities else { return Array(repeating: 1, count: pairs) }
    guard probabilities.count == pairs, probabilities.allSatisfy({ (0...1).contains($0) }) else {
        throw DeviceError.invalidArgument(
            operation: operation,
            message: "needs one chosen probability in [0, 1] per pair (\(pairs) pairs), got \(probabilities)")
    }
    return probabilities
}
