import Core

/// GRPO's group-relative advantages (TRL `GRPOTrainer`, docs/formats.md §6.8): each completion's
/// reward minus the mean reward of its group (the completions of the same prompt), divided by
/// a standard deviation (unbiased) + 1e-4 unless scaling is off. One advantage per completion,
/// shared by all its tokens.
public enum GRPOAdvantages {
    /// How the centred rewards are scaled (TRL `scale_rewards`).
    public enum Scaling: String, Sendable, CaseIterable {
        /// By the standard deviation of the group (the default).
        case group
        /// By the standard deviation of the whole batch.
        case batch
        /// Not at all: mean-centring only (Dr. GRPO).
        case none
    }

    /// The advantages of `rewards`, laid out group after group, each of `groupSize` completions.
    public static func compute(rewards: [Float], groupSize: Int, scaling: Scaling = .group) throws -> [Float] {
        guard groupSize > 0, !rewards.isEmpty, rewards.count % groupSize == 0 else {
            throw DeviceError.invalidArgument(
                operation: "GRPOAdvantages",
                message: "\(rewards.count) rewards do not split into groups of \(groupSize)")
        }
        let values = rewards.map(Double.init)
        let batchDeviation = standardDeviation(values)
        var advantages: [Float] = []
        for start in stride(from: 0, to: values.count, by: groupSize) {
            let group = Array(values[start..<(start + groupSize)])
            let mean = group.reduce(0, +) / Double(groupSize)
            let deviation: Double
            switch scaling {
            case .group: deviation = standardDeviation(group) + 1e-4
            case .batch: deviation = batchDeviation + 1e-4
            case .none: deviation = 1
            }
            advantages += group.map { Float(($0 - mean) / deviation) }
        }
        return advantages
    }

    /// The unbiased standard deviation (torch.std's default); NaN for one value, as in PyTorch.
    static func standardDeviation(_ values: [Double]) -> Double {
        let mean = values.reduce(0, +) / Double(values.count)
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (squares / Double(values.count - 1)).squareRoot()
    }
}
