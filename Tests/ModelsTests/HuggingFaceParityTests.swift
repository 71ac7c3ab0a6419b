import Core
import Models
import Tensors
import TestSupport
import XCTest

/// The models against transformers: the loss of each fixture text equals what transformers
/// computed, on the reference device and on OpenCL.
final class HuggingFaceParityTests: XCTestCase {
    private func loss(of model: LanguageModel, ids: [Int32]) throws -> Float {
        let device = model.parameters.device
        let input = try IntTensor(device: device, shape: [ids.count], values: ids, label: "ids")
        let targets = try IntTensor(device: device, shape: [ids.count], values: Array(ids.dropFirst()) + [-100], label: "targets")
        return try Tensor.withNoGrad {
            let logits = try model.logits(TokenBatch(ids: input, batch: 1, length: ids.count))
            return try Tensor.crossEntropy(logits: logits, targets: targets).scalar()
        }
    }

    private func checkFixture(_ name: String, on device: Device) throws {
        let (model, report) = try ModelFolder.load(HuggingFaceFixtures.folder(name), device: device, trainable: false)
        XCTAssertEqual(report.unusedKeys, [], "every checkpoint tensor is used")
        for reference in try HuggingFaceFixtures.cases(name) {
            let loss = try loss(of: model, ids: reference.ids)
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
