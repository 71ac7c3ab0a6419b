import Core
import Formats
import Foundation
import Models
import Optimizers
import Tensors

/// The device memory a run will need, estimated from the model's configuration and parameter list
/// before anything is allocated, so that a run that cannot fit is refused with a clear message
/// instead of failing midway (issue 6, "Memory").
///
/// Everything on the device is float32. Weights count every parameter; gradients and AdamW's two
/// moments count only the trainable ones (`ParameterSpec.trainable`: a LoRA run's frozen base adds
/// weights only). Activations are a rough count of what a forward pass keeps for the backward pass
/// (each layer's normalised inputs, projections and MLP intermediates, the logits and their
/// gradient); attention keeps only its log-sum-exp, not the T×T scores. Several models (a policy
/// and its reference, a reward model) add up with `+`.
public struct MemoryEstimate: Equatable, Sendable {
    /// All parameters.
    public var parameters: Int
    /// Parameters that get gradients and optimizer state.
    public var trainableParameters: Int
    /// Every parameter's weights.
    public var weightBytes: Int
    /// The trainable parameters' gradients.
    public var gradientBytes: Int
    /// AdamW's first and second moments of the trainable parameters.
    public var optimizerBytes: Int
    /// What one batch's forward (and backward, when training) pass keeps at its peak, roughly.
    public var activationBytes: Int

    /// The whole estimate.
    public var totalBytes: Int { [gradientBytes, optimizerBytes, activationBytes].reduce(weightBytes, Self.sum) }

    private static let floatBytes = 4

    /// The estimate for `config`'s model with parameters `specs` over batches of `batchSize`
    /// sequences of `sequenceLength` tokens. `training` adds gradients, AdamW moments (for the
    /// trainable parameters) and the activations kept for the backward pass; without it only one
    /// layer's working set and the logits are live at a time.
    public init(config: ModelConfig, specs: [ParameterSpec], batchSize: Int, sequenceLength: Int, training: Bool) {
        parameters = specs.reduce(0) { $0 + $1.count }
        trainableParameters = training ? specs.filter(\.trainable).reduce(0) { $0 + $1.count } : 0
        // Counted in Double and saturated: a configuration far too large for any device gets an
        // estimate that refuses it, not an integer overflow.
        let float = Double(Self.floatBytes)
        weightBytes = Self.saturated(Double(parameters) * float)
        gradientBytes = Self.saturated(Double(trainableParameters) * float)
        optimizerBytes = Self.saturated(2 * Double(trainableParameters) * float)
        let tokens = Double(batchSize) * Double(sequenceLength)
        let perLayer = tokens * Double(config.family.activationsPerTokenPerLayer(config))
        let embedding = tokens * Double(config.hiddenSize)
        let vocabulary = Double(config.vocabSize)
        let floats =
            training
            // Every layer's saved values, plus the backward pass's gradients of one layer and of the logits.
            ? embedding + Double(config.layerCount) * perLayer + perLayer + 2 * tokens * vocabulary
            : embedding + perLayer + tokens * vocabulary
        activationBytes = Self.saturated(floats * float)
    }

    /// `a + b`, Int.max when it does not fit.
    private static func sum(_ a: Int, _ b: Int) -> Int {
        let (total, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : total
    }

    /// `value` as an Int, Int.max when it does not fit.
    private static func saturated(_ value: Double) -> Int { value < Double(Int.max) ? Int(value) : Int.max }

    /// The estimate for `config`'s causal LM with every parameter trainable when `training` (a
    /// full fine-tune or pretraining), frozen otherwise (evaluation).
    public init(languageModel config: ModelConfig, batchSize: Int, sequenceLength: Int, training: Bool) {
        let specs = ModelParameters.specs(for: config).map { $0.with(trainable: training) }
        self.init(
            config: config, specs: specs, batchSize: batchSize, sequenceLength: sequenceLength, training: training)
    }

    /// Memberwise, for sums.
    private init(
        parameters: Int, trainableParameters: Int, weightBytes: Int, gradientBytes: Int, optimizerBytes: Int,
        activationBytes: Int
    ) {
        self.parameters = parameters
        self.trainableParameters = trainableParameters
        self.weightBytes = weightBytes
        self.gradientBytes = gradientBytes
        self.optimizerBytes = optimizerBytes
        self.activationBytes = activationBytes
    }

    /// Two models on one device (e.g. a policy and its frozen reference).
    public static func + (lhs: MemoryEstimate, rhs: MemoryEstimate) -> MemoryEstimate {
        MemoryEstimate(
            parameters: sum(lhs.parameters, rhs.parameters),
            trainableParameters: sum(lhs.trainableParameters, rhs.trainableParameters),
            weightBytes: sum(lhs.weightBytes, rhs.weightBytes),
            gradientBytes: sum(lhs.gradientBytes, rhs.gradientBytes),
            optimizerBytes: sum(lhs.optimizerBytes, rhs.optimizerBytes),
            activationBytes: sum(lhs.activationBytes, rhs.activationBytes))
    }

    /// One line for people: parameter counts and the estimate with its parts.
    public var summary: String {
        var parts = ["weights \(ByteCount(weightBytes))"]
        if trainableParameters > 0 {
            parts += ["gradients \(ByteCount(gradientBytes))", "AdamW moments \(ByteCount(optimizerBytes))"]
        }
        parts.append("activations about \(ByteCount(activationBytes))")
        return "\(Self.count(parameters)) parameters (\(Self.count(trainableParameters)) trainable); "
            + "needs about \(ByteCount(totalBytes)) of device memory: " + parts.joined(separator: ", ")
    }

    /// Throws `MemoryEstimate.InsufficientMemory` when the estimate exceeds `device`'s memory
    /// (nothing is checked when the device does not say how much it has).
    public func requireFits(on device: Device) throws {
        try requireFits(capacity: device.memoryCapacity, deviceName: device.name)
    }

    /// Throws when the estimate exceeds `capacity` bytes (`nil`: unknown, no check).
    public func requireFits(capacity: Int?, deviceName: String) throws {
        guard let capacity, totalBytes > capacity else { return }
        throw InsufficientMemory(estimate: self, capacity: capacity, deviceName: deviceName)
    }

    /// A run that would not fit on its device.
    public struct InsufficientMemory: Error, CustomStringConvertible, Equatable {
        /// What the run needs.
        public var estimate: MemoryEstimate
        /// The device's memory in bytes.
        public var capacity: Int
        /// The device's name as people see it.
        public var deviceName: String

        public var description: String {
            let remedies =
                estimate.trainableParameters > 0
                ? "Lower train.batch_size or train.sequence_length, train fewer parameters (LoRA), use a smaller model"
                : "Use shorter texts or a smaller model"
            return
                "the run does not fit on \(deviceName), which has \(ByteCount(capacity)) of memory: \(estimate.summary). "
                + remedies + ", or choose a device with more memory (--device; `gputrain devices` lists them)"
        }
    }

    /// 124439808 → "124.44M".
    private static func count(_ value: Int) -> String {
        switch value {
        case 1_000_000_000...: return String(format: "%.2fB", Double(value) / 1e9)
        case 1_000_000...: return String(format: "%.2fM", Double(value) / 1e6)
        case 10_000...: return String(format: "%.1fK", Double(value) / 1e3)
        default: return "\(value)"
        }
    }
}
