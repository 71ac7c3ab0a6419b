import Core
import ReferenceDevice
import TestSupport
import XCTest

/// The optimizer suite on the reference device.
final class ReferenceOptimizerTests: XCTestCase, OptimizerSuite {
    let device: Device = TestDevices.reference()

    func testAdamWMatchesPerElementLoop() throws { try checkAdamWMatchesPerElementLoop() }
    func testAdamWStateRoundTrip() throws { try checkAdamWStateRoundTrip() }
    func testAdamWLoadRejectsMissingParameter() throws { try checkAdamWLoadRejectsMissingParameter() }
    func testAdamWTrainsThroughBackward() throws { try checkAdamWTrainsThroughBackward() }
    func testClipsToMaxNorm() throws { try checkClipsToMaxNorm() }
    func testClippingLeavesSmallGradientsAlone() throws { try checkClippingLeavesSmallGradientsAlone() }
    func testNonFiniteNormIsReported() throws { try checkNonFiniteNormIsReported() }
}
