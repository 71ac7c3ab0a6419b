import Core
import Tensors

/// AdamW over a `ParameterStore` (docs/formats.md §6.9, `torch.optim.AdamW`): one fused device launch
/// per step updates every trainable parameter, with weight decay on the store's decayed
/// parameters only (they come first in the flat buffer, see `ParameterLayout`).
///
/// The moments are flat buffers matching the parameters; like PyTorch, the first step uses
/// t = 1 for the bias corrections. Parameters whose gradient is zero still have their moments
/// decayed and, if they decay, their weights shrunk (PyTorch skips parameters without any
/// gradient; a frozen parameter belongs in the frozen part of the layout instead).
public final class AdamW {
    /// The parameters updated.
    public let store: ParameterStore
    /// The learning rate of the next step when `step()` is given none (e.g. from a schedule).
    public var learningRate: Float
    /// Decay rates of the first and second moments (β₁, β₂).
    public var beta1: Float
    public var beta2: Float
    /// ε added to the bias-corrected √v.
    public var epsilon: Float
    /// Decoupled weight decay: θ ← θ·(1 − lr·wd) on decayed parameters, before the update.
    public var weightDecay: Float
    /// Steps taken so far (the next step is number `stepCount + 1`).
    public private(set) var stepCount = 0
    private let firstMoment: DeviceBuffer
    private let secondMoment: DeviceBuffer

    /// Zeroed moments for `store`, with the project's defaults (`AdamWStep.Defaults`).
    public init(
        store: ParameterStore, learningRate: Float = 1e-3, beta1: Float = Float(AdamWStep.Defaults.beta1),
        beta2: Float = Float(AdamWStep.Defaults.beta2), epsilon: Float = Float(AdamWStep.Defaults.epsilon),
        weightDecay: Float = Float(AdamWStep.Defaults.weightDecay)
    ) throws {
        self.store = store
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        let count = store.layout.trainableCount
        firstMoment = try store.device.makeBuffer(count: count, dtype: .float32, label: "AdamW first moment")
        secondMoment = try store.device.makeBuffer(count: count, dtype: .float32, label: "AdamW second moment")
    }

    /// Updates every trainable parameter from its gradient (call after the backward passes of
    /// all micro-batches and after clipping). `learningRate` overrides the stored one for this
    /// step and becomes the stored one.
    public func step(learningRate: Float? = nil) throws {
        if let learningRate { self.learningRate = learningRate }
        let layout = store.layout
        guard layout.trainableCount > 0 else { return }
        let update = AdamWStep(
            learningRate: self.learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
            weightDecay: weightDecay, step: stepCount + 1)
        try store.device.adamW(
            parameters: store.parameters, gradients: store.gradients, firstMoment: firstMoment,
            secondMoment: secondMoment,
            count: layout.trainableCount, decayCount: layout.decayCount, step: update)
        stepCount += 1
    }

    /// The optimizer state for a checkpoint: the step count and each trainable parameter's
    /// moments by name (by name rather than flat, so a checkpoint loads on a device with
    /// another view alignment, i.e. other padding).
    public func state() throws -> AdamWState {
        let layout = store.layout
        let m = try store.device.readFloats(firstMoment)
        let v = try store.device.readFloats(secondMoment)
        return AdamWState(
            step: stepCount,
            firstMoments: layout.unpack(trainable: m, frozen: nil),
            secondMoments: layout.unpack(trainable: v, frozen: nil))
    }

    /// Restores a state from `state()`; every trainable parameter must be present with its size.
    public func load(_ state: AdamWState) throws {
        let layout = store.layout
        try store.device.write(
            layout.packTrainable(state.firstMoments, operation: "AdamW.load first moments"), to: firstMoment)
        try store.device.write(
            layout.packTrainable(state.secondMoments, operation: "AdamW.load second moments"), to: secondMoment)
        stepCount = state.step
    }
}

/// AdamW's state: steps taken and the moments of each trainable parameter by name.
public struct AdamWState: Codable, Equatable, Sendable {
    /// Steps taken.
    public var step: Int
    /// m and v of each trainable parameter, by parameter name.
    public var firstMoments: [String: [Float]]
    public var secondMoments: [String: [Float]]

    /// A state with the given parts.
    public init(step: Int, firstMoments: [String: [Float]], secondMoments: [String: [Float]]) {
        self.step = step
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }
}
