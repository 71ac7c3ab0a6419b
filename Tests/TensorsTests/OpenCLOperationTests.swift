import Core
import OpenCLDevice
import TestSupport
import XCTest

/// The operation suites on the OpenCL device (PoCL here, or GPUTRAIN_DEVICE): the same checks, through the kernels.
final class OpenCLOperationTests: XCTestCase, OperationGradientSuite, OperationValueSuite, TinyTransformerGradientSuite
{
    var device: Device { get throws { try TestDevices.openCL.get() } }

    func testUnaryFunctionsGradients() throws { try checkUnaryFunctions() }
    func testBroadcastingArithmeticGradients() throws { try checkBroadcastingArithmetic() }
    func testReductionsAndBroadcastGradients() throws { try checkReductionsAndBroadcast() }
    func testShapeOperationsGradients() throws { try checkShapeOperations() }
    func testMatmulAllTransposesGradients() throws { try checkMatmulAllTransposes() }
    func testLinearGradients() throws { try checkLinear() }
    func testSoftmaxFamilyGradients() throws { try checkSoftmaxFamily() }
    func testCrossEntropyGradients() throws { try checkCrossEntropy() }
    func testDPOLikeLossGradients() throws { try checkDPOLikeLoss() }
    func testNormalizationGradients() throws { try checkNormalization() }
    func testEmbeddingAndGatherGradients() throws { try checkEmbeddingAndGather() }
    func testRopeGradients() throws { try checkRope() }
    func testAttentionGradients() throws { try checkAttention() }
    func testDropoutGradients() throws { try checkDropout() }
    func testBroadcastValues() throws { try checkBroadcastValues() }
    func testProductValues() throws { try checkProductValues() }
    func testLinearValues() throws { try checkLinearValues() }
    func testSliceAndConcatenateValues() throws { try checkSliceAndConcatenateValues() }
    func testCrossEntropyReductions() throws { try checkCrossEntropyReductions() }
    func testTinyTransformerGradients() throws { try checkTinyTransformerGradients() }
}
