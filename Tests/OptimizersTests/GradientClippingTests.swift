import Core
import Optimizers
import ReferenceDevice
import Tensors
import TestSupport
import XCTest

/// `clip_grad_norm_` semantics against a hand computation.
final class GradientClippingTests: XCTestCase {
    let device = TestDevices.reference()

    /// A store (alignment 4, so with zero padding) whose gradients are `a` = [3, 4] and `b` = [12].
    private func store() throws -> ParameterStore {
        let store = try ParameterStore(device: device, layout: ParameterLayout(
            [ParameterSpec("a", shape: [2]), ParameterSpec("b", shape: [1])], alignment: 4))
        try device.write(store.layout.packTrainable(["a": [3, 4], "b": [12]], operation: "test"), to: store.gradients)
        return store
    }

    func testClipsToMaxNorm() throws {
        let store = try store()
        // N = √(9 + 16 + 144) = 13.
        let norm = try store.clipGradientNorm(maxNorm: 1)
        XCTAssertEqual(norm, 13, accuracy: 1e-5)
        let factor: Float = 1 / (13 + 1e-6)
        XCTAssertNil(Tolerance.kernel.firstMismatch(try store.tensor("a").grad!.values(), [3 * factor, 4 * factor]))
        XCTAssertNil(Tolerance.kernel.firstMismatch(try store.tensor("b").grad!.values(), [12 * factor]))
        XCTAssertEqual(try store.gradientNorm(), 1, accuracy: 1e-5)
    }

    func testLeavesSmallGradientsAlone() throws {
        let store = try store()
        XCTAssertEqual(try store.clipGradientNorm(maxNorm: 20), 13, accuracy: 1e-5)
        XCTAssertEqual(try store.tensor("a").grad!.values(), [3, 4])
        XCTAssertEqual(try store.tensor("b").grad!.values(), [12])
    }

    func testNonFiniteNormIsReportedAndNothingScaled() throws {
        let store = try store()
        try device.write(store.layout.packTrainable(["a": [3, .infinity], "b": [12]], operation: "test"), to: store.gradients)
        let norm = try store.clipGradientNorm(maxNorm: 1)
        XCTAssertFalse(norm.isFinite)
        XCTAssertEqual(try store.tensor("b").grad!.values(), [12])
    }
}
