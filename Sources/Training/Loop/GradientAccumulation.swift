import Datasets
import Models
import Tensors

/// One optimizer step's worth of backward passes over several micro-batches: the one rule of
/// gradient accumulation, parameterised by each loss's unit, as TRL weighs them.
///
/// The loss of the step is the mean over every unit of every micro-batch: target tokens for
/// the language-model losses (ignored targets, −100, excluded), pairs for DPO and the reward
/// model. A micro-batch whose loss is a sum over its units contributes that sum divided by the
/// step's unit count; one whose loss is a mean over its units contributes the mean times its
/// share of the units. So k micro-batches of b rows give the same gradients as one batch of
/// k·b rows — unlike averaging per-micro-batch means, which over-weights the tokens of short
/// micro-batches (docs/formats.md §6.1).
public enum GradientAccumulation {
    /// How a micro-batch's loss reduces over its units.
    public enum Reduction {
        /// Summed over the units (the language-model cross-entropy).
        case sum
        /// Averaged over the units (the preference losses over pairs).
        case mean
    }

    /// Runs `loss(i, batch)` and its backward pass for every micro-batch, adding `weight` times
    /// the gradients of the step's mean loss into the parameters' gradients, and returns each
    /// micro-batch's share of that mean unread, so the caller reads them when the device has
    /// finished anyway (no wait per micro-batch). `weight` scales the gradients (PPO-ptx's
    /// coefficient), not the shares. `units(batch)` counts the loss's units in a micro-batch.
    public static func backward<MicroBatch>(
        _ microBatches: [MicroBatch], units: (MicroBatch) -> Int, reduction: Reduction, weight: Float = 1,
        loss: (_ index: Int, _ batch: MicroBatch) throws -> Tensor
    ) throws -> [Tensor] {
        let total = microBatches.reduce(0) { $0 + units($1) }
        guard total > 0 else { return [] }
        return try microBatches.enumerated().map { index, batch in
            let value = try loss(index, batch)
            let share =
                try reduction == .sum
                ? value.scaled(by: 1 / Float(total)) : value.scaled(by: Float(units(batch)) / Float(total))
            try (weight == 1 ? share : share.scaled(by: weight)).backward()
            return share.detached()
        }
    }

    /// Runs forward and backward over `batches`, adding `weight` times the gradients of the
    /// step's mean loss into the parameters' gradients, and returns that mean loss.
    /// `dropout(i)` gives micro-batch i's dropout.
    public static func accumulate(
        _ model: LanguageModel, batches: [BatchSampler.Batch], weight: Float = 1,
        dropout: (Int) -> DropoutSettings? = { _ in nil }
    ) throws -> Double {
        try sum(backward(model, batches: batches, weight: weight, dropout: dropout))
    }

    /// The step's mean loss from the shares `backward` returned (reading them waits for the device).
    public static func sum(_ shares: [Tensor]) throws -> Double {
        try shares.reduce(0.0) { $0 + Double(try $1.scalar()) }
    }

    /// The backward passes of `accumulate`: next-token cross-entropy, summed over target tokens.
    public static func backward(
        _ model: LanguageModel, batches: [BatchSampler.Batch], weight: Float = 1,
        dropout: (Int) -> DropoutSettings? = { _ in nil }
    ) throws -> [Tensor] {
        try backward(
            batches, units: { $0.targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) } }, reduction: .sum,
            weight: weight,
            loss: { index, batch in try languageModelLoss(model, batch: batch, dropout: dropout(index)) })
    }

    /// The target id that marks a position without a loss.
    public static let ignoreIndex: Int32 = -100
}

/// Summed next-token cross-entropy of `model` on a (B, T) batch.
func languageModelLoss(_ model: LanguageModel, batch: BatchSampler.Batch, dropout: DropoutSettings?) throws -> Tensor {
    let device = model.parameters.device
    let rows = batch.inputs.count
    let ids = try IntTensor(device: device, shape: [rows], values: batch.inputs, label: "input ids")
    let targets = try IntTensor(device: device, shape: [rows], values: batch.targets, label: "targets")
    let logits = try model.logits(
        TokenBatch(ids: ids, batch: batch.batchSize, length: batch.sequenceLength), dropout: dropout)
    return try Tensor.crossEntropy(
        logits: logits, targets: targets, ignoreIndex: GradientAccumulation.ignoreIndex, reduction: .sum)
}
