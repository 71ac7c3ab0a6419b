import Core
import Datasets
import Models
import Optimizers
import Tensors

/// One optimizer step of next-token training outside a run, as `gputrain bench train` times it:
/// zero the gradients; per micro-batch, the forward pass, the summed cross-entropy divided by the
/// step's target-token count, and the backward pass (`GradientAccumulation`); then the one
/// update path (`Trainee.update`: norm, clipping, AdamW unless the norm is not finite).
/// Pretraining takes the same step inside `StageLoop`.
///
/// The host waits for the device once per step, to read the gradient norm (clipping and the
/// skip decision need it); the losses are read in the same transfer-free moment, and the
/// AdamW update is left queued, so the next step's graph is built while it runs.
public struct TrainingStep {
    /// What one step measured.
    public struct Outcome: Sendable, Equatable {
        /// Mean next-token loss over the step's tokens.
        public var loss: Double
        /// Global gradient norm before clipping.
        public var gradientNorm: Float
        /// False when the norm was not finite and the update was skipped.
        public var updated: Bool
    }

    /// The model trained; its parameter store is what the optimizer updates.
    public let model: LanguageModel
    /// The model's parameters with their optimizer.
    public let trainee: Trainee
    /// Clip the global gradient norm to this; 0 turns clipping off (the norm is still computed).
    public var gradientClip: Float

    /// A step of `model` updated by `optimizer`, clipping gradients to `gradientClip`.
    public init(model: LanguageModel, optimizer: AdamW, gradientClip: Float) {
        self.model = model
        trainee = Trainee(name: "model", store: model.parameters, optimizer: optimizer)
        self.gradientClip = gradientClip
    }

    /// Trains on `batches` (the micro-batches of one step, each weighing by its tokens) at
    /// `learningRate`; `dropout` gives micro-batch i's dropout, nil for none.
    public func run(
        batches: [BatchSampler.Batch], learningRate: Float,
        dropout: (Int) -> DropoutSettings? = { _ in nil }
    ) throws -> Outcome {
        try model.parameters.zeroGrad()
        let shares = try GradientAccumulation.backward(model, batches: batches, dropout: dropout)
        var loss = 0.0
        let (norm, updated) = try trainee.update(learningRate: learningRate, gradientClip: gradientClip) {
            loss = try GradientAccumulation.sum(shares)
        }
        return Outcome(loss: loss, gradientNorm: norm, updated: updated)
    }
}
