import Core
import Tensors

/// The reward-model loss of TRL's `RewardTrainer` (docs/formats.md §6.2), Bradley–Terry:
/// L = −mean(log σ(r_c − r_r − margin)) + c·mean((r_c + r_r)²), where the margin term is used
/// only when the data gives one per pair and the centering term only when c > 0. A soft label
/// p (the probability that the chosen completion is better) makes a pair's term the
/// cross-entropy −p·log σ(d) − (1−p)·log σ(−d) of d = r_c − r_r − margin; p = 1 is the above.
public struct BradleyTerryLoss: Sendable {
    /// The centering coefficient c (TRL `center_rewards_coefficient`; 0 = off, 0.01 recommended).
    public var centeringCoefficient: Float

    /// A loss with the given centering coefficient.
    public init(centeringCoefficient: Float = 0) {
        self.centeringCoefficient = centeringCoefficient
    }

    /// The loss and its metrics.
    public struct Output {
        /// The loss, a scalar.
        public let loss: Tensor
        /// mean(r_c > r_r).
        public let accuracy: Double
        /// mean(r_c − r_r).
        public let meanMargin: Double
    }

    /// The loss of rewards `chosen` and `rejected` ([pairs] each) with optional per-pair `margins`
    /// and soft labels `chosenProbabilities` (nil: every label is 1).
    public func callAsFunction(
        chosen: Tensor, rejected: Tensor, margins: [Float]? = nil, chosenProbabilities: [Float]? = nil
    ) throws -> Output {
        let pairs = chosen.count
        guard rejected.count == pairs, margins.map({ $0.count == pairs }) ?? true else {
            throw DeviceError.shapeMismatch(
                operation: "BradleyTerryLoss (chosen, rejected rewards)", lhs: chosen.shape, rhs: rejected.shape)
        }
        let chosen = try chosen.reshaped([pairs])
        let rejected = try rejected.reshaped([pairs])
        let difference = try chosen - rejected
        var logits = difference
        if let margins {
            logits =
                try logits - Tensor(device: chosen.device, shape: [pairs], values: margins, label: "reward margins")
        }
        let targets = try requireChosenProbabilities(chosenProbabilities, pairs: pairs, "BradleyTerryLoss")
        var loss = try logits.sigmoidCrossEntropy(targets: targets).mean()
        if centeringCoefficient != 0 {
            loss = try loss + (chosen + rejected).squared().mean().scaled(by: centeringCoefficient)
        }
        let differences = try difference.values()
        return Output(
            loss: loss,
            accuracy: Double(differences.filter { $0 > 0 }.count) / Double(pairs),
            meanMargin: differences.reduce(0) { $0 + Double($1) } / Double(pairs))
    }
}
