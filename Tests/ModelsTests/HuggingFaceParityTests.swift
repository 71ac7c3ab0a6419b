import Core
import Models
import Tensors
import TestSupport
import XCTest

/// The models against transformers: the loss of each fixture text equals what transformers
/// computed, on the reference device and on OpenCL, for every fixture configuration.
final class HuggingFaceParityTests: XCTestCase {
    private func checkFixtures(on device: Device) throws {
        for name in HuggingFaceFixtures.models {
            let (model, report) = try ModelFolder.load(
                HuggingFaceFixtures.folder(name), device: device, trainable: false)
            XCTAssertEqual(report.unusedKeys, [], "\(name): every checkpoint tensor is used")
            let cases = try HuggingFaceFixtures.cases(name)
            XCTAssertFalse(cases.isEmpty, name)
            for reference in cases {
                let loss = try meanLoss(of: model, ids: reference.ids)
                XCTAssertEqual(
                    Double(loss), reference.loss, accuracy: 1e-4 * reference.loss,
                    "\(name) on \(device.name): '\(reference.text.prefix(40))'")
            }
        }
    }

    /// Full causal attention equals Mistral's sliding-window attention only up to the window, so
    /// longer sequences are refused rather than silently computed differently.
    func testSlidingWindowBoundsTheSequenceLength() throws {
        let device = TestDevices.reference()
        let mistral = try ModelFolder.load(HuggingFaceFixtures.folder("mistral-tiny"), device: device, trainable: false)
            .model
        var config = mistral.config
        config.slidingWindow = 8
        let windowed = try LlamaModel(config: config, parameters: mistral.parameters)
        XCTAssertEqual(config.contextLength, 8)
        let ids = try HuggingFaceFixtures.cases("mistral-tiny")[0].ids
        func logits(_ model: LanguageModel, _ count: Int) throws -> [Float] {
            let input = try IntTensor(device: device, shape: [count], values: Array(ids.prefix(count)), label: "ids")
            return try Tensor.withNoGrad { try model.logits(TokenBatch(ids: input, batch: 1, length: count)).values() }
        }
        XCTAssertEqual(try logits(windowed, 8), try logits(mistral, 8))
        XCTAssertThrowsError(try logits(windowed, 9)) { error in
            XCTAssertTrue("\(error)".contains("sliding window of 8 tokens"), "\(error)")
        }
    }

    func testEveryFixtureMatchesTransformersOnReferenceDevice() throws {
        try checkFixtures(on: TestDevices.reference())
    }

    func testEveryFixtureMatchesTransformersOnOpenCL() throws {
        try checkFixtures(on: TestDevices.openCL.get())
    }
}
