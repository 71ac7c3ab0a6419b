import Core
import Optimizers
import ReferenceDevice
import Tensors
import TestSupport
import XCTest

/// AdamW over a parameter store against a plain per-element transcription of
/// `torch.optim.AdamW` (FORMATS §6.9).
final class AdamWTests: XCTestCase {
    static let specs = [
        ParameterSpec("h.0.attn.c_attn.bias", shape: [5]),
        ParameterSpec("wte.weight", shape: [4, 3]),
        ParameterSpec("h.0.attn.c_attn.weight", shape: [3, 5]),
        ParameterSpec("base.weight", shape: [2, 2], trainable: false),
    ]

    /// A store laid out with padding (alignment 4) and seeded values.
    private func makeStore(_ device: Device, seed: UInt64 = 1) throws -> ParameterStore {
        let store = try ParameterStore(device: device, layout: ParameterLayout(Self.specs, alignment: 4))
        var random = TestRandom(seed: seed)
        for spec in Self.specs { try store.load(spec.name, values: random.floats(spec.count)) }
        return store
    }

    /// Per-parameter gradients for step `step`.
    private func gradients(step: Int) -> [String: [Float]] {
        var random = TestRandom(seed: 100 + UInt64(step))
        var result: [String: [Float]] = [:]
        for spec in Self.specs where spec.trainable { result[spec.name] = random.floats(spec.count, in: -2...2) }
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

    func testMatchesPerElementLoopWithDecayedAndUndecayedParameters() throws {
        let device = TestDevices.reference()
        let store = try makeStore(device)
        let optimizer = try AdamW(store: store, learningRate: 0.05, beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.1)
        var expected = try store.allValues()
        var m = expected.mapValues { $0.map { _ in Float(0) } }
        var v = m
        let learningRates: [Float] = [0.05, 0.02, 0.01]
        for step in 1...3 {
            let g = gradients(step: step)
            try device.write(store.layout.packTrainable(g, operation: "test"), to: store.gradients)
            try optimizer.step(learningRate: learningRates[step - 1])
            for spec in Self.specs where spec.trainable {
                referenceAdamW(&expected[spec.name]!, &m[spec.name]!, &v[spec.name]!, gradients: g[spec.name]!,
                               decays: spec.decays, learningRate: learningRates[step - 1],
                               beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.1, step: step)
            }
        }
        XCTAssertEqual(optimizer.stepCount, 3)
        let actual = try store.allValues()
        for spec in Self.specs {
            XCTAssertNil(Tolerance(absolute: 1e-6, relative: 1e-5).firstMismatch(actual[spec.name]!, expected[spec.name]!), spec.name)
        }
        let state = try optimizer.state()
        for spec in Self.specs where spec.trainable {
            XCTAssertNil(Tolerance(absolute: 1e-6, relative: 1e-5).firstMismatch(state.firstMoments[spec.name]!, m[spec.name]!), spec.name)
            XCTAssertNil(Tolerance(absolute: 1e-6, relative: 1e-5).firstMismatch(state.secondMoments[spec.name]!, v[spec.name]!), spec.name)
        }
        XCTAssertNil(state.firstMoments["base.weight"], "frozen parameters have no optimizer state")
        // The padding between parameters never moves.
        let flat = try device.readFloats(store.parameters)
        let used = store.layout.entries.filter(\.spec.trainable).flatMap { $0.offset..<($0.offset + $0.spec.count) }
        for index in Set(flat.indices).subtracting(used) { XCTAssertEqual(flat[index], 0, "padding at \(index)") }
    }

    func testStateRoundTripContinuesIdentically() throws {
        let device = TestDevices.reference()
        let original = try makeStore(device)
        let first = try AdamW(store: original, learningRate: 0.01)
        for step in 1...2 {
            try device.write(original.layout.packTrainable(gradients(step: step), operation: "test"), to: original.gradients)
            try first.step()
        }
        let state = try first.state()
        XCTAssertEqual(state.step, 2)

        // A fresh store on a device-like layout without padding takes the same state by name.
        let resumedStore = try ParameterStore(device: device, specs: Self.specs)
        for (name, values) in try original.allValues() { try resumedStore.load(name, values: values) }
        let resumed = try AdamW(store: resumedStore, learningRate: 0.01)
        try resumed.load(state)
        XCTAssertEqual(resumed.stepCount, 2)

        let g = gradients(step: 3)
        try device.write(original.layout.packTrainable(g, operation: "test"), to: original.gradients)
        try device.write(resumedStore.layout.packTrainable(g, operation: "test"), to: resumedStore.gradients)
        try first.step()
        try resumed.step()
        XCTAssertEqual(try original.allValues(), try resumedStore.allValues())
    }

    func testLoadRejectsMissingParameter() throws {
        let optimizer = try AdamW(store: makeStore(TestDevices.reference()))
        var state = try optimizer.state()
        state.firstMoments["wte.weight"] = nil
        XCTAssertThrowsError(try optimizer.load(state)) { error in
            XCTAssert("\(error)".contains("wte.weight"), "\(error)")
        }
    }

    func testTrainsThroughBackward() throws {
        // Minimise Σ (w − target)² with AdamW: the loss must fall.
        let device = TestDevices.reference()
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
}
