import Core
import OpenCLDevice
import ReferenceDevice
import TestSupport
import XCTest

final class OptimizerKernelTests: XCTestCase {
    /// PyTorch agreement required of every device: |a − b| ≤ 1e-6 + 1e-6·|b|.
    private let torchTolerance = Tolerance(absolute: 1e-6, relative: 1e-6)

    /// The state of one AdamW run: parameters, first and second moments.
    private struct State {
        var parameters: [Float]
        var firstMoment: [Float]
        var secondMoment: [Float]
    }

    func testMatchesTorchAdamW() throws {
        let harness = try OracleHarness()
        try checkTorchFixture(on: TestDevices.reference())
        try checkTorchFixture(on: harness.openCL)
        try harness.withGPUTuning { try checkTorchFixture(on: harness.openCL, label: "GPU geometry") }
    }

    /// Counts around the vector width, and decay boundaries inside a vector.
    func testMatchesReference() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 21)
        for count in [1, 7, 33, 129, 257, 1031] {
            try compare(harness, count: count, random: &random)
        }
    }

    func testGPUGeometryMatchesReference() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 23)
        try harness.withGPUTuning {
            for count in [7, 257, 1031] {
                try compare(harness, count: count, random: &random)
            }
        }
    }

    /// NaN and ±∞ in the gradients, parameters and moments spoil exactly the elements they
    /// spoil on the reference, in the vector body and in the leftover elements.
    func testNonFiniteInputsAgreeWithReference() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 24)
        let count = 21
        var start = randomState(count, &random)
        var gradient = random.floats(count)
        (gradient[1], gradient[9], gradient[17]) = (.nan, .infinity, -.infinity)
        (start.parameters[3], start.parameters[18]) = (.nan, .infinity)
        (start.firstMoment[5], start.secondMoment[6], start.secondMoment[19]) = (-.infinity, .infinity, .nan)
        func compareAll() throws {
            try harness.compare("adamW with non-finite values", kernels: ["adamw_step"]) { device in
                let final = try run(
                    on: device, from: start, gradients: [gradient], decayCount: 10,
                    hyperparameters: AdamWStep(learningRate: 3e-3, weightDecay: 0.1, step: 2))
                return [final.parameters, final.firstMoment, final.secondMoment]
            }
        }
        try compareAll()
        try harness.withGPUTuning { try compareAll() }
        let final = try run(
            on: TestDevices.reference(), from: start, gradients: [gradient], decayCount: 10,
            hyperparameters: AdamWStep(learningRate: 3e-3, weightDecay: 0.1, step: 2))
        XCTAssertTrue(final.parameters[1].isNaN && final.parameters[0].isFinite)
    }

    func testIsDeterministic() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 22)
        let start = randomState(100_003, &random)
        let gradients = [random.floats(100_003)]
        try harness.assertDeterministic("adamW") { device in
            let final = try run(
                on: device, from: start, gradients: gradients, decayCount: 60_001,
                hyperparameters: AdamWStep(learningRate: 1e-3, step: 1))
            return [final.parameters, final.firstMoment, final.secondMoment]
        }
    }

    func testBadInputsAreRejectedWithTheirSizes() throws {
        let harness = try OracleHarness()
        let step = AdamWStep(learningRate: 1e-3, step: 1)
        harness.assertThrows(["adamW", "'v'", "[9]", "[10]"]) { device in
            let full = try device.makeBuffer(count: 10, dtype: .float32, label: "full")
            let short = try device.makeBuffer(count: 9, dtype: .float32, label: "v")
            try device.adamW(
                parameters: full, gradients: full, firstMoment: full, secondMoment: short,
                count: 10, decayCount: 4, step: step)
        }
        harness.assertThrows(["adamW", "decayCount 11", "0...10"]) { device in
            let full = try device.makeBuffer(count: 10, dtype: .float32, label: "full")
            try device.adamW(
                parameters: full, gradients: full, firstMoment: full, secondMoment: full,
                count: 10, decayCount: 11, step: step)
        }
        harness.assertThrows(["adamW", "step.step must be positive, got 0"]) { device in
            let full = try device.makeBuffer(count: 10, dtype: .float32, label: "full")
            try device.adamW(
                parameters: full, gradients: full, firstMoment: full, secondMoment: full,
                count: 10, decayCount: 4, step: AdamWStep(learningRate: 1e-3, step: 0))
        }
    }

    // MARK: Helpers

    /// Replays the PyTorch fixture's ten steps on `device` and checks θ, m and v after them.
    private func checkTorchFixture(on device: Device, label: String = "") throws {
        let fixture = AdamWTorchFixture.self
        let zeros = [Float](repeating: 0, count: fixture.count)
        let final = try run(
            on: device, from: State(parameters: fixture.initialParameters, firstMoment: zeros, secondMoment: zeros),
            gradients: fixture.gradients, decayCount: fixture.decayCount,
            hyperparameters: AdamWStep(
                learningRate: fixture.learningRate, beta1: fixture.beta1, beta2: fixture.beta2,
                epsilon: fixture.epsilon, weightDecay: fixture.weightDecay, step: 1))
        for (name, actual, expected) in [
            ("parameters", final.parameters, fixture.finalParameters),
            ("first moment", final.firstMoment, fixture.finalFirstMoment),
            ("second moment", final.secondMoment, fixture.finalSecondMoment),
        ] {
            if let mismatch = torchTolerance.firstMismatch(actual, expected) {
                XCTFail("\(device.name) \(label), \(name) after \(fixture.gradients.count) steps: \(mismatch)")
            }
        }
    }

    /// Compares three steps from a seeded state, with weight decay on none, part or all of it.
    private func compare(_ harness: OracleHarness, count: Int, random: inout TestRandom) throws {
        for decayCount in Set([0, count / 2 + 1, count - 1, count]).sorted() {
            let start = randomState(count, &random)
            let gradients = (0..<3).map { _ in random.floats(count) }
            try harness.compare("adamW count \(count), decayCount \(decayCount)", kernels: ["adamw_step"]) { device in
                let final = try run(
                    on: device, from: start, gradients: gradients, decayCount: decayCount,
                    hyperparameters: AdamWStep(learningRate: 3e-3, beta2: 0.95, weightDecay: 0.1, step: 5))
                return [final.parameters, final.firstMoment, final.secondMoment]
            }
        }
    }

    private func randomState(_ count: Int, _ random: inout TestRandom) -> State {
        State(
            parameters: random.floats(count), firstMoment: random.floats(count, in: -0.1...0.1),
            secondMoment: random.floats(count, in: 0...0.01))
    }

    /// Applies one AdamW step per gradient (steps numbered on from `hyperparameters.step`) and
    /// returns the final state.
    private func run(
        on device: Device, from start: State, gradients: [[Float]], decayCount: Int, hyperparameters: AdamWStep
    ) throws -> State {
        let count = start.parameters.count
        let parameters = try OracleHarness.buffer(device, start.parameters, "parameters")
        let firstMoment = try OracleHarness.buffer(device, start.firstMoment, "m")
        let secondMoment = try OracleHarness.buffer(device, start.secondMoment, "v")
        let gradientBuffer = try device.makeBuffer(count: count, dtype: .float32, label: "gradients")
        var step = hyperparameters
        for gradient in gradients {
            try device.write(gradient, to: gradientBuffer)
            try device.adamW(
                parameters: parameters, gradients: gradientBuffer, firstMoment: firstMoment,
                secondMoment: secondMoment, count: count, decayCount: decayCount, step: step)
            step.step += 1
        }
        return State(
            parameters: try device.readFloats(parameters), firstMoment: try device.readFloats(firstMoment),
            secondMoment: try device.readFloats(secondMoment))
    }
}
