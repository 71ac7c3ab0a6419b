import Core
import ReferenceDevice
import Tensors
import TestSupport
import XCTest

/// The autograd engine itself: accumulation, freezing, no-grad mode, graph release. The engine
/// is device-agnostic, so the reference device suffices.
final class AutogradTests: XCTestCase {
    let device = TestDevices.reference()

    private func leaf(_ values: [Float], _ shape: [Int]? = nil, requiresGrad: Bool = true) throws -> Tensor {
        try Tensor(device: device, shape: shape ?? [values.count], values: values, requiresGrad: requiresGrad)
    }

    func testTwoBackwardPassesSumTheirGradients() throws {
        let x = try leaf([0.5, -1, 2])
        let w = try leaf([1, 2, 3])
        for _ in 0..<2 {
            try (x * w).squared().sum().backward()
        }
        // d/dx Σ (x·w)² = 2·x·w², twice.
        let expected: [Float] = [2, -16, 72]
        XCTAssertEqual(try XCTUnwrap(x.grad).values(), expected)
        try x.zeroGrad()
        XCTAssertEqual(try XCTUnwrap(x.grad).values(), [0, 0, 0])
        try (x * w).sum().backward()
        XCTAssertEqual(try XCTUnwrap(x.grad).values(), [1, 2, 3])
    }

    func testTensorUsedTwiceGetsBothGradients() throws {
        let x = try leaf([1, -2, 3])
        // y = x·x + exp(x)·x: every path into x adds up (x·x alone gives 2x).
        try (x * x + x.exp() * x).sum().backward()
        let expected = [Float(1), -2, 3].map { 2 * $0 + Foundation.exp($0) * (1 + $0) }
        let gradient = try XCTUnwrap(x.grad).values()
        XCTAssertNil(Tolerance.kernel.firstMismatch(gradient, expected))
    }

    func testFrozenLeafGetsNoGradient() throws {
        let trained = try leaf([1, 2])
        let frozen = try leaf([3, 4])
        frozen.requiresGrad = false
        try (trained * frozen).sum().backward()
        XCTAssertEqual(try XCTUnwrap(trained.grad).values(), [3, 4])
        XCTAssertNil(frozen.grad)
    }

    func testDetachedStopsGradient() throws {
        let x = try leaf([1, 2])
        try (x * x.detached()).sum().backward()
        XCTAssertEqual(try XCTUnwrap(x.grad).values(), [1, 2], "only the undetached factor carries a gradient")
    }

    func testNoGradModeRecordsNothing() throws {
        let x = try leaf([1, 2])
        let y = try Tensor.withNoGrad { try (x * x).sum() }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertNil(y.operation)
        XCTAssertThrowsError(try y.backward())
        XCTAssertTrue(GradientMode.isEnabled, "the mode is restored")
        let z = try (x * x).sum()
        XCTAssertEqual(z.operation, "sum")
    }

    func testNoGradModeIsRestoredAfterAThrow() throws {
        XCTAssertThrowsError(
            try Tensor.withNoGrad { throw DeviceError.invalidArgument(operation: "test", message: "thrown") })
        XCTAssertTrue(GradientMode.isEnabled)
    }

    func testConstantsDoNotRecord() throws {
        let a = try leaf([1, 2], requiresGrad: false)
        let y = try (a * a).sum()
        XCTAssertFalse(y.requiresGrad)
        XCTAssertNil(y.operation)
    }

    func testSecondBackwardThroughReleasedGraphThrows() throws {
        let x = try leaf([1, 2])
        let loss = try x.exp().sum()
        try loss.backward()
        XCTAssertThrowsError(try loss.backward()) { error in
            XCTAssert("\(error)".contains("released"), "\(error)")
        }
    }

    func testBackwardReleasesIntermediateBuffers() throws {
        let x = try leaf((0..<64).map { Float($0) / 64 }, [8, 8])
        let w = try leaf((0..<64).map { Float($0) / 128 }, [8, 8])
        // Warm-up pass creates the leaves' gradients, which stay.
        try Tensor.matmul(x, w).tanh().sum().backward()
        let baseline = device.memoryInUse
        func step() throws {
            let loss = try Tensor.matmul(x, w).tanh().softmax().sum()
            XCTAssertGreaterThan(device.memoryInUse, baseline)
            try loss.backward()
        }
        try step()
        XCTAssertEqual(device.memoryInUse, baseline, "every intermediate and gradient buffer was freed")
    }

    func testNonScalarBackwardNeedsAGradient() throws {
        let x = try leaf([1, 2])
        XCTAssertThrowsError(try x.exp().backward()) { error in
            XCTAssert("\(error)".contains("pass a gradient"), "\(error)")
        }
    }

    func testBackwardOfALeafAddsTheSeed() throws {
        let x = try leaf([5])
        try x.backward()
        XCTAssertEqual(try XCTUnwrap(x.grad).values(), [1])
    }

    func testShapeErrorsNameTheOperation() throws {
        let a = try leaf([1, 2, 3])
        let b = try leaf([1, 2])
        XCTAssertThrowsError(try a + b) { error in
            XCTAssert("\(error)".contains("add"), "\(error)")
            XCTAssert("\(error)".contains("[3]") && "\(error)".contains("[2]"), "\(error)")
        }
        XCTAssertThrowsError(try Tensor.matmul(a.reshaped([1, 3]), b.reshaped([2, 1]))) { error in
            XCTAssert("\(error)".contains("matmul"), "\(error)")
        }
        XCTAssertThrowsError(try a.reshaped([2, 2])) { error in
            XCTAssert("\(error)".contains("reshape"), "\(error)")
        }
    }

    func testForeignDeviceIsRejected() throws {
        let a = try leaf([1, 2])
        let other = try Tensor(device: TestDevices.reference(), shape: [2], values: [1, 2])
        XCTAssertThrowsError(try a * other) { error in
            XCTAssert("\(error)".contains("multiply"), "\(error)")
        }
    }
}
