import Core
import Datasets
import Models
import Tensors

/// One optimizer step of next-token training, as pretraining takes it in its loop and
/// `gputrain bench train` times it: zero the gradients; per micro-batch, the forward pass, the
/// summed cross-entropy divided by the step's target-token count, and the backward pass
/// (`GradientAccumulation`); then the update (`Trainee.update`: norm, clipping, AdamW unless the
/// norm is not finite; in a run, through `StageLoop.update`).
///
/// The host waits for the device once per step, to read the gradient norm (clipping and the
/// skip decision need it); the losses are read in the same transfer-free moment, and the
/// AdamW update is left queued, so the next step's graph is built while it runs.
public struct TrainingStep {
    /// The model trained.
    public let model: LanguageModel

    public init(model: LanguageModel) {
        self.model = model
    }

    /// Trains on `batches` (the micro-batches of one step, each weighing by its tokens);
    /// `dropout` gives micro-batch i's dropout, nil for none. `update(whileIdle)` updates the
    /// parameters and returns the gradient norm, running `whileIdle` once the norm's read has
    /// drained the queue. Returns the step's mean loss and the norm.
    public func run(
        batches: [BatchSampler.Batch], dropout: (Int) -> DropoutSettings? = { _ in nil },
        update: (_ whileIdle: () throws -> Void) throws -> Float
    ) throws -> (loss: Double, gradientNorm: Float) {
        try model.parameters.zeroGrad()
        let shares = try GradientAccumulation.backward(model, batches: batches, dropout: dropout)
        var loss = 0.0
        let norm = try update { loss = try GradientAccumulation.sum(shares) }
        return (loss, norm)
    }
}
