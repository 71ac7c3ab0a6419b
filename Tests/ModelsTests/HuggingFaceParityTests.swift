import Core
import Models
import Tensors
import TestSupport
import XCTest

/// The models against transformers: the loss of each fixture text equals what transformers
/// computed, on the reference device and on OpenCL, for every fixture configuration.
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

    private func checkFixtures(on device: Device) throws {
        for name in HuggingFaceFixtures.models {
            let (model, report) = try ModelFolder.load(HuggingFaceFixtures.folder(name), device: device, trainable: false)
            XCTAssertEqual(report.unusedKeys, [], "\(name): every checkpoint tensor is used")
            let cases = try HuggingFaceFixtures.cases(name)
            XCTAssertFalse(cases.isEmpty, name)
            for reference in cases {
                let loss = try loss(of: model, ids: reference.ids)
                XCTAssertEqual(Double(loss), reference.loss, accuracy: 1e-4 * reference.loss,
                               "\(name) on \(device.name): '\(reference.text.prefix(40))'")
            }
        }
    }

    func testEveryFixtureMatchesTransformersOnReferenceDevice() throws {
        try checkFixtures(on: TestDevices.reference())
    }

    func testEveryFixtureMatchesTransformersOnOpenCL() throws {
        try checkFixtures(on: TestDevices.openCL.get())
    }
}
