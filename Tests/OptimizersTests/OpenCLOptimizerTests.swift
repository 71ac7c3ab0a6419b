import Core
import OpenCLDevice
import TestSupport
import XCTest

/// The optimizer suite on the OpenCL device: parameters and gradients are sub-buffer views there.
final class OpenCLOptimizerTests: XCTestCase, OptimizerSuite {
    var device: Device { get throws { try TestDevices.openCL.get() } }

    func testAdamWMatchesPerElementLoop() throws { try checkAdamWMatchesPerElementLoop() }
    func testAdamWStateRoundTrip() throws { try checkAdamWStateRoundTrip() }
    func testAdamWLoadRejectsMissingParameter() throws { try checkAdamWLoadRejectsMissingParameter() }
    func testAdamWTrainsThroughBackward() throws { try checkAdamWTrainsThroughBackward() }
    func testClipsToMaxNorm() throws { try checkClipsToMaxNorm() }
    func testClippingLeavesSmallGradientsAlone() throws { try checkClippingLeavesSmallGradientsAlone() }
    func testNonFiniteNormIsReported() throws { try checkNonFiniteNormIsReported() }
}
