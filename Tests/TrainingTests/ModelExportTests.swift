import Core
import Formats
import Foundation
import Models
import Tensors
import TestSupport
import XCTest

@testable import Inference
@testable import Training

/// `gputrain export --format hf` against transformers: a model trained here, exported, gives
/// the loss transformers computed for its export (figures committed by
/// Tests/FormatsTests/Fixtures/exports/make_export_fixtures.py), in float32 and bfloat16; a LoRA
/// adapter exported merged gives the loss PEFT computed for base + adapter.
final class ModelExportTests: XCTestCase {
    private var output: URL!

    override func setUpWithError() throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(getpid())-\(name.hashValue)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: output)
    }

    private func fixture(_ name: String) -> URL { HuggingFaceFixtures.folder("exports/\(name)") }

    private func losses(of folder: URL, ids: [[Int32]]) throws -> [Double] {
        let model = try ModelFolder.load(folder, device: TestDevices.reference(), trainable: false).model
        return try ids.map { Double(try meanLoss(of: model, ids: $0)) }
    }

    func testTheExportOfAModelTrainedHereGivesTransformersLoss() throws {
        let summary = try ModelExport.huggingFace(
            from: fixture("trained-llama"), to: output, dtype: nil, mergeLoRA: false,
            device: TestDevices.reference())
        XCTAssertEqual(summary.dtype, "float32")
        // Byte-identical to the export transformers read, so its figures apply to this one.
        XCTAssertEqual(
            try Data(contentsOf: output.appendingPathComponent("model.safetensors")),
            try Data(contentsOf: fixture("trained-llama-export").appendingPathComponent("model.safetensors")))
        let cases = try HuggingFaceFixtures.cases("exports/trained-llama-export")
        for (loss, reference) in zip(try losses(of: output, ids: cases.map(\.ids)), cases) {
            XCTAssertEqual(loss, reference.loss, accuracy: 1e-4 * reference.loss, reference.text)
        }
        for name in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output.appendingPathComponent(name).path), name)
        }
        let file = try SafetensorsFile(contentsOf: output.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(file.metadata["format"], "pt")
        XCTAssertFalse(file.contains("lm_head.weight"), "a tied head is written once, as the embedding")
    }

    func testABFloat16ExportGivesTransformersLossOnThoseWeights() throws {
        _ = try ModelExport.huggingFace(
            from: fixture("trained-llama"), to: output, dtype: .bf16, mergeLoRA: false,
            device: TestDevices.reference())
        XCTAssertEqual(try ModelConfig(contentsOf: output.appendingPathComponent("config.json")).dtype, "bfloat16")
        let file = try SafetensorsFile(contentsOf: output.appendingPathComponent("model.safetensors"))
        XCTAssertTrue(file.tensors.allSatisfy { $0.dtype == .bf16 })
        struct Reference: Decodable { var bf16_losses: [Double] }
        let expected = try JSONDecoder().decode(
            Reference.self,
            from: Data(
                contentsOf: fixture("trained-llama-export")
                    .appendingPathComponent("reference.json"))
        ).bf16_losses
        let cases = try HuggingFaceFixtures.cases("exports/trained-llama-export")
        for (loss, reference) in zip(try losses(of: output, ids: cases.map(\.ids)), expected) {
            XCTAssertEqual(loss, reference, accuracy: 1e-4 * reference)
        }
    }

    func testAMergedLoRAExportGivesTheLossOfBasePlusAdapter() throws {
        let adapter = fixture("trained-llama-lora")
        XCTAssertThrowsError(
            try ModelExport.huggingFace(
                from: adapter, to: output, dtype: nil, mergeLoRA: false, device: TestDevices.reference())
        ) {
            XCTAssertTrue("\($0)".contains("--merge-lora"), "\($0)")
        }
        let summary = try ModelExport.huggingFace(
            from: adapter, to: output, dtype: nil, mergeLoRA: true, device: TestDevices.reference())
        XCTAssertTrue(summary.mergedAdapter)
        XCTAssertFalse(PEFTAdapter.isAdapter(output))
        let cases = try HuggingFaceFixtures.cases("exports/trained-llama-lora")
        for (loss, reference) in zip(try losses(of: output, ids: cases.map(\.ids)), cases) {
            XCTAssertEqual(loss, reference.loss, accuracy: 1e-4 * reference.loss, "PEFT's base + adapter loss")
        }
    }
}
