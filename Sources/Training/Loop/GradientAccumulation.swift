import Datasets
import Models
import Tensors

/// One optimizer step's worth of backward passes over several micro-batches.
///
/// The loss of the step is the mean over every target token of every micro-batch (ignored
/// targets, −100, excluded): each micro-batch contributes its summed cross-entropy divided by
/// the step's total target count. So k micro-batches of b rows give the same gradients as one
/// batch of k·b rows — unlike averaging per-micro-batch means, which over-weights the tokens
/// of short micro-batches (docs/formats.md §6.1).
public enum GradientAccumulation {
    /// Runs forward and backward over `batches`, adding `weight` times the gradients of the
    /// step's mean loss into the parameters' gradients, and returns that mean loss.
    /// `dropout(i)` gives micro-batch i's dropout.
    public static func accumulate(
        _ model: LanguageModel, batches: [BatchSampler.Batch], weight: Float = 1, dropout: (Int) -> DropoutSettings? = { _ in nil }
    ) throws -> Double {
        try sum(backward(model, batches: batches, weight: weight, dropout: dropout))
    }

    /// The step's mean loss from the shares `backward` returned (reading them waits for the device).
    public static func sum(_ shares: [Tensor]) throws -> Double {
        try shares.reduce(0.0) { $0 + Double(try $1.scalar()) }
    }

    /// The backward passes of `accumulate`, returning each micro-batch's share of the loss
    /// unread, so the caller reads them when the device has finished anyway (no wait per
    /// micro-batch). `weight` scales the gradients (PPO-ptx's coefficient), not the shares.
    public static func backward(
        _ model: LanguageModel, batches: [BatchSampler.Batch], weight: Float = 1, dropout: (Int) -> DropoutSettings? = { _ in nil }
    ) throws -> [Tensor] {
        let targets = batches.reduce(0) { $0 + $1.targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) } }
        guard targets > 0 else { return [] }
        return try batches.enumerated().map { index, batch in
            let share = try languageModelLoss(model, batch: batch, dropout: dropout(index)).scaled(by: 1 / Float(targets))
            try (weight == 1 ? share : share.scaled(by: weight)).backward()
            return share.detached()
        }
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
    let logits = try model.logits(TokenBatch(ids: ids, batch: batch.batchSize, length: batch.sequenceLength), dropout: dropout)
    return try Tensor.crossEntropy(logits: logits, targets: targets, ignoreIndex: GradientAccumulation.ignoreIndex, reduction: .sum)
}
