import Foundation
import TestSupport
import XCTest

/// `gputrain tokenize` and `gputrain eval` against what Hugging Face computed for the fixtures.
final class EvalAndTokenizeCommandTests: XCTestCase {
    private func temporaryFile(_ text: String, _ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(getpid())-\(name)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testTokenizeAndEvalMatchTransformers() throws {
        for fixture in ["gpt2-tiny", "llama-tiny"] {
            let folder = HuggingFaceFixtures.folder(fixture).path
            for (index, reference) in try HuggingFaceFixtures.cases(fixture).enumerated() {
                let file = try temporaryFile(reference.text, "\(fixture)-\(index).txt")
                defer { try? FileManager.default.removeItem(at: file) }
                let tokens = try CommandRunner.run(["tokenize", "--tokenizer", folder, "--file", file.path])
                XCTAssertEqual(tokens.status, 0, tokens.standardError)
                let ids = try JSONDecoder().decode([Int32].self, from: Data(tokens.standardOutput.utf8))
                XCTAssertEqual(ids, reference.ids, "\(fixture) case \(index)")

                let eval = try CommandRunner.run(["eval", "--model", folder, "--data", file.path, "--json"])
                XCTAssertEqual(eval.status, 0, eval.standardError)
                let last = try XCTUnwrap(eval.standardOutput.split(separator: "\n").last)
                let result = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Double])
                XCTAssertEqual(result["loss"]!, reference.loss, accuracy: 1e-4 * reference.loss, "\(fixture) case \(index)")
                XCTAssertEqual(result["tokens"], Double(reference.ids.count - 1))
                XCTAssertEqual(result["perplexity"]!, Foundation.exp(result["loss"]!), accuracy: 1e-6 * result["perplexity"]!)
            }
        }
    }
}
