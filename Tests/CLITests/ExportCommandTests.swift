import Foundation
import TestSupport
import XCTest

/// `gputrain eval` on LoRA adapter folders (applied on their base) and `gputrain export` of
/// them, against the losses PEFT computed for the fixtures.
final class ExportCommandTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = try makeScratchFolder("export-cli")
    }

    /// Checks that `gputrain eval --model folder` gives each case's PEFT loss.
    private func checkEval(_ folder: URL, cases fixture: String) throws {
        for (index, reference) in try HuggingFaceFixtures.cases(fixture).enumerated() {
            let file = try writeFile(reference.text, named: "case-\(index).txt", in: scratch)
            let eval = try CommandRunner.run(["eval", "--model", folder.path, "--data", file.path, "--json"])
            XCTAssertEqual(eval.status, 0, eval.standardError)
            let last = try XCTUnwrap(eval.standardOutput.split(separator: "\n").last)
            let result = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Double])
            XCTAssertEqual(
                result["loss"]!, reference.loss, accuracy: 1e-4 * reference.loss,
                "\(folder.lastPathComponent) case \(index)")
        }
    }

    func testEvalAppliesAnAdapterFolderOnItsBase() throws {
        for name in ["trained-llama-lora", "gpt2-tiny-lora"] {
            try checkEval(HuggingFaceFixtures.folder("exports/\(name)"), cases: "exports/\(name)")
        }
    }

    func testExportMergesAnAdapterOnlyWhenAsked() throws {
        let adapter = HuggingFaceFixtures.folder("exports/trained-llama-lora")
        let out = scratch.appendingPathComponent("merged")
        let refused = try CommandRunner.run(["export", "--model", adapter.path, "--out", out.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.standardError.contains("--merge-lora"), refused.standardError)

        let merged = try CommandRunner.run([
            "export", "--model", adapter.path, "--out", out.path, "--merge-lora", "--dtype", "f32",
        ])
        XCTAssertEqual(merged.status, 0, merged.standardError)
        XCTAssertTrue(merged.standardOutput.contains("LoRA adapter merged"), merged.standardOutput)
        try checkEval(out, cases: "exports/trained-llama-lora")

        let badFormat = try CommandRunner.run([
            "export", "--model", adapter.path, "--out", out.path, "--format", "onnx",
        ])
        XCTAssertNotEqual(badFormat.status, 0)
        XCTAssertTrue(badFormat.standardError.contains("hf or gguf"), badFormat.standardError)
    }

    func testGGUFExportWritesAFileForLlamaCpp() throws {
        let out = scratch.appendingPathComponent("model.gguf")
        let adapter = HuggingFaceFixtures.folder("exports/trained-llama-lora")
        let result = try CommandRunner.run([
            "export", "--model", adapter.path, "--merge-lora", "--format", "gguf", "--out", out.path,
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.contains("as f16 (LoRA adapter merged)"), result.standardOutput)
        let header = try Data(contentsOf: out).prefix(8)
        XCTAssertEqual(Array(header), [0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0], "GGUF magic, version 3")
        let badType = try CommandRunner.run([
            "export", "--model", adapter.path, "--merge-lora", "--format", "gguf", "--dtype", "bf16",
            "--out", out.path,
        ])
        XCTAssertNotEqual(badType.status, 0)
        XCTAssertTrue(badType.standardError.contains("f32 or f16"), badType.standardError)
    }
}
