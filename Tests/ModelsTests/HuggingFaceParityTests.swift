import Core
import Models
import Tensors
import TestSupport
import XCTest

/// The models against transformers: the loss of each fixture text equals what transformers
/// computed, on the reference device and on OpenCL.
final class HuggingFaceParityTests: XCTestCase {
    private func checkFixture(_ name: String, on device: Device) throws {
        let (model, report) = try ModelFolder.load(HuggingFaceFixtures.folder(name), device: device, trainable: false)
        XCTAssertEqual(report.unusedKeys, [], "every checkpoint tensor is used")
        for reference in try HuggingFaceFixtures.cases(name) {
            let loss = try meanNextTokenLoss(of: model, ids: reference.ids)
            XCTAssertEqual(Double(loss), reference.loss, accuracy: 1e-4 * reference.loss,
                           "\(name) on \(device.name): '\(reference.text)'")
        }
    }

    func testGPT2MatchesTransformersOnReferenceDevice() throws {
        try checkFixture("gpt2-tiny", on: TestDevices.reference())
    }

    func testLlamaMatchesTransformersOnReferenceDevice() throws {
        try checkFixture("llama-tiny", on: TestDevices.reference())
    }

    func testGPT2MatchesTransformersOnOpenCL() throws {
        try checkFixture("gpt2-tiny", on: TestDevices.openCL.get())
    }

    func testLlamaMatchesTransformersOnOpenCL() throws {
        try checkFixture("llama-tiny", on: TestDevices.openCL.get())
    }
}
