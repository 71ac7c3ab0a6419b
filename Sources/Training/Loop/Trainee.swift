import Optimizers
import Tensors

/// One model a stage trains, with its optimizer: what the loop updates and checkpoints. Most
/// stages train one (`model`); PPO trains two (`model` and `value`). `name` names its files in
/// a checkpoint.
public struct Trainee {
    public var name: String
    public var store: ParameterStore
    public var optimizer: AdamW

    public init(name: String, store: ParameterStore, optimizer: AdamW) {
        self.name = name
        self.store = store
        self.optimizer = optimizer
    }

    /// The one update path of every stage and of `gputrain bench train`: the global gradient
    /// norm, clipped to `gradientClip` when it is positive, then the AdamW step at
    /// `learningRate`, skipped when the norm is not finite. `whileIdle` runs between the two,
    /// when reading the norm has just drained the device's queue: what it reads costs no wait,
    /// and the AdamW step is left queued behind it. Returns the norm before clipping and whether
    /// the step was taken.
    public func update(learningRate: Float, gradientClip: Float, whileIdle: () throws -> Void = {}) throws
        -> (gradientNorm: Float, updated: Bool)
    {
        let norm = gradientClip > 0 ? try store.clipGradientNorm(maxNorm: gradientClip) : try store.gradientNorm()
        try whileIdle()
        guard norm.isFinite else { return (norm, false) }
        try optimizer.step(learningRate: learningRate)
        return (norm, true)
    }

    var modelFile: String { name == "model" ? "model.safetensors" : "\(name).safetensors" }
    var optimizerFile: String { name == "model" ? "optimizer.safetensors" : "\(name).optimizer.safetensors" }
}
