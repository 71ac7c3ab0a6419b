import Core
import Optimizers
import ReferenceDevice
import Tensors
import TestSupport
import XCTest

/// AdamW over a parameter store against a plain per-element transcription of
/// `torch.optim.AdamW` (docs/formats.md §6.9), and gradient clipping against a hand computation.
/// Written once, run on each device by `ReferenceOptimizerTests` and `OpenCLOptimizerTests`
/// (XCTest on Linux does not discover inherited test methods).
protocol OptimizerSuite {
    var device: Device { get throws }
}

/// Parameters with decayed, undecayed and frozen entries.
private let specs = [
    ParameterSpec("h.0.attn.c_attn.bias", shape: [5]),
    ParameterSpec("wte.weight", shape: [4, 3]),
    ParameterSpec("h.0.attn.c_attn.weight", shape: [3, 5]),
    ParameterSpec("base.weight", shape: [2, 2], trainable: false),
]

extension OptimizerSuite {
    /// An alignment that leaves padding between parameters on every device.
    private func paddedAlignment(_ device: Device) -> Int { device.viewAlignment == 1 ? 4 : device.viewAlignment }

    /// A store laid out with padding and seeded values.
    private func makeStore(_ device: Device, seed: UInt64 = 1) throws -> ParameterStore {
        let store = try ParameterStore(
            device: device, layout: ParameterLayout(specs, alignment: paddedAlignment(device)))
        var random = TestRandom(seed: seed)
        for spec in specs { try store.load(spec.name, values: random.floats(spec.count)) }
        return store
    }

    /// Per-parameter gradients for step `step`.
    private func gradients(step: Int) -> [String: [Float]] {
        var random = TestRandom(seed: 100 + UInt64(step))
        var result: [String: [Float]] = [:]
        for spec in specs where spec.trainable { result[spec.name] = random.floats(spec.count, in: -2...2) }
        return result
    }

    /// One AdamW step on host arrays, element by element, as PyTorch computes it.
    private func referenceAdamW(
        _ parameters: inout [Float], _ m: inout [Float], _ v: inout [Float], gradients: [Float], decays: Bool,
        learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, step: Int
    ) {
        let biasCorrection1 = Float(1 - pow(Double(beta1), Double(step)))
        let biasCorrection2Sqrt = Float((1 - pow(Double(beta2), Double(step))).squareRoot())
        for i in parameters.indices {
            if decays { parameters[i] *= 1 - learningRate * weightDecay }
            m[i] = beta1 * m[i] + (1 - beta1) * gradients[i]
            v[i] = beta2 * v[i] + (1 - beta2) * gradients[i] * gradients[i]
            let denominator = v[i].squareRoot() / biasCorrection2Sqrt + epsilon
            parameters[i] -= learningRate / biasCorrection1 * m[i] / denominator
        }
    }

    func checkAdamWMatchesPerElementLoop() throws {
        let device = try device
        let store = try makeStore(device)
        let optimizer = try AdamW(
            store: store, learningRate: 0.05, beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.1)
        var expected = try store.allValues()
        var m = expected.mapValues { $0.map { _ in Float(0) } }
        var v = m
        let learningRates: [Float] = [0.05, 0.02, 0.01]
        for step in 1...3 {
            let g = gradients(step: step)
            try device.write(store.layout.packTrainable(g, operation: "test"), to: store.gradients)
            try optimizer.step(learningRate: learningRates[step - 1])
            for spec in specs where spec.trainable {
                referenceAdamW(
                    &expected[spec.name]!, &m[spec.name]!, &v[spec.name]!, gradients: g[spec.name]!,
                    decays: spec.decays, learningRate: learningRates[step - 1],
                    beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.1, step: step)
            }
        }
        XCTAssertEqual(optimizer.stepCount, 3)
        let actual = try store.allValues()
        for spec in specs {
            XCTAssertNil(
                Tolerance(absolute: 1e-6, relative: 1e-5).firstMismatch(actual[spec.name]!, expected[spec.name]!),
                spec.name)
        }
        let state = try optimizer.state()
        for spec in specs where spec.trainable {
            XCTAssertNil(
                Tolerance(absolute: 1e-6, relative: 1e-5).firstMismatch(state.firstMoments[spec.name]!, m[spec.name]!),
                spec.name)
            XCTAssertNil(
                Tolerance(absolute: 1e-6, relative: 1e-5).firstMismatch(state.secondMoments[spec.name]!, v[spec.name]!),
                spec.name)
        }
        XCTAssertNil(state.firstMoments["base.weight"], "frozen parameters have no optimizer state")
        // The padding between parameters never moves.
        let flat = try device.readFloats(store.parameters)
        let used = store.layout.entries.filter(\.spec.trainable).flatMap { $0.offset..<($0.offset + $0.spec.count) }
        for index in Set(flat.indices).subtracting(used) { XCTAssertEqual(flat[index], 0, "padding at \(index)") }
    }

    func checkAdamWStateRoundTrip() throws {
        let device = try device
        let original = try makeStore(device)
        let first = try AdamW(store: original, learningRate: 0.01)
        for step in 1...2 {
            try device.write(
                original.layout.packTrainable(gradients(step: step), operation: "test"), to: original.gradients)
            try first.step()
        }
        let state = try first.state()
        XCTAssertEqual(state.step, 2)

        // A store with other padding (the device's own alignment) takes the same state by name.
        let resumedStore = try ParameterStore(device: device, specs: specs)
        for (name, values) in try original.allValues() { try resumedStore.load(name, values: values) }
        let resumed = try AdamW(store: resumedStore, learningRate: 0.01)
        try resumed.load(state)
        XCTAssertEqual(resumed.stepCount, 2)

        let g = gradients(step: 3)
        try device.write(original.layout.packTrainable(g, operation: "test"), to: original.gradients)
        try device.write(resumedStore.layout.packTrainable(g, operation: "test"), to: resumedStore.gradients)
        try first.step()
        try resumed.step()
        let expected = try original.allValues()
        let actual = try resumedStore.allValues()
        for spec in specs { XCTAssertEqual(actual[spec.name], expected[spec.name], spec.name) }
    }

    func checkAdamWLoadRejectsMissingParameter() throws {
        let optimizer = try AdamW(store: makeStore(device))
        var state = try optimizer.state()
        state.firstMoments["wte.weight"] = nil
        XCTAssertThrowsError(try optimizer.load(state)) { error in
            XCTAssert("\(error)".contains("wte.weight"), "\(error)")
        }
    }

    func checkAdamWTrainsThroughBackward() throws {
        // Minimise Σ (w − target)² with AdamW: the loss must fall.
        let device = try device
        let store = try ParameterStore(device: device, specs: [ParameterSpec("w", shape: [4], decays: false)])
        let target = try Tensor(device: device, shape: [4], values: [1, -1, 0.5, 2])
        let optimizer = try AdamW(store: store, learningRate: 0.1, weightDecay: 0)
        var losses: [Float] = []
        for _ in 0..<20 {
            try store.zeroGrad()
            let loss = try (store.tensor("w") - target).squared().sum()
            losses.append(try loss.scalar())
            try loss.backward()
            try optimizer.step()
        }
        XCTAssertLessThan(losses.last!, losses.first! / 4, "\(losses)")
    }

    /// A store (with zero padding) whose gradients are `a` = [3, 4] and `b` = [12].
    private func clippingStore() throws -> ParameterStore {
        let device = try device
        let store = try ParameterStore(
            device: device,
            layout: ParameterLayout(
                [ParameterSpec("a", shape: [2]), ParameterSpec("b", shape: [1])], alignment: paddedAlignment(device)))
        try device.write(store.layout.packTrainable(["a": [3, 4], "b": [12]], operation: "test"), to: store.gradients)
        return store
    }

    func checkClipsToMaxNorm() throws {
        let store = try clippingStore()
        // N = √(9 + 16 + 144) = 13.
        let norm = try store.clipGradientNorm(maxNorm: 1)
        XCTAssertEqual(norm, 13, accuracy: 1e-5)
        let factor: Float = 1 / (13 + 1e-6)
        XCTAssertNil(Tolerance.kernel.firstMismatch(try store.tensor("a").grad!.values(), [3 * factor, 4 * factor]))
        XCTAssertNil(Tolerance.kernel.firstMismatch(try store.tensor("b").grad!.values(), [12 * factor]))
        XCTAssertEqual(try store.gradientNorm(), 1, accuracy: 1e-5)
    }

    func checkClippingLeavesSmallGradientsAlone() throws {
        let store = try clippingStore()
        XCTAssertEqual(try store.clipGradientNorm(maxNorm: 20), 13, accuracy: 1e-5)
        XCTAssertEqual(try store.tensor("a").grad!.values(), [3, 4])
        XCTAssertEqual(try store.tensor("b").grad!.values(), [12])
    }

    func checkNonFiniteNormIsReported() throws {
        let store = try clippingStore()
        try store.device.write(
            store.layout.packTrainable(["a": [3, .infinity], "b": [12]], operation: "test"), to: store.gradients)
        let norm = try store.clipGradientNorm(maxNorm: 1)
        XCTAssertFalse(norm.isFinite)
        XCTAssertEqual(try store.tensor("b").grad!.values(), [12])
    }
}
