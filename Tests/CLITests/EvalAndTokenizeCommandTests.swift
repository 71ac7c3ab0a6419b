import Foundation
import TestSupport
import XCTest

/// `gputrain tokenize` and `gputrain eval` against what Hugging Face computed for every fixture model.
final class EvalAndTokenizeCommandTests: XCTestCase {
    private func temporaryFile(_ text: String, _ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(getpid())-\(name)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testTokenizeGivesTheIDsOfHuggingFaceTokenizers() throws {
        for fixture in HuggingFaceFixtures.models {
            let folder = HuggingFaceFixtures.folder(fixture).path
            for (index, reference) in try HuggingFaceFixtures.cases(fixture).enumerated() {
                let file = try temporaryFile(reference.text, "\(fixture)-\(index).txt")
                let tokens = try CommandRunner.run(["tokenize", "--tokenizer", folder, "--file", file.path])
                XCTAssertEqual(tokens.status, 0, tokens.standardError)
                let ids = try JSONDecoder().decode([Int32].self, from: Data(tokens.standardOutput.utf8))
                XCTAssertEqual(ids, reference.ids, "\(fixture) case \(index)")
            }
        }
    }

    /// One `eval` per fixture over all its texts (a JSONL file, one document per text): the
    /// token-weighted mean of transformers' per-text losses.
    func testEvalGivesTheLossOfTransformers() throws {
        for fixture in HuggingFaceFixtures.models {
            let cases = try HuggingFaceFixtures.cases(fixture)
            let lines = try cases.map {
                String(decoding: try JSONSerialization.data(withJSONObject: ["text": $0.text]), as: UTF8.self)
            }
            let file = try temporaryFile(lines.joined(separator: "\n") + "\n", "\(fixture).jsonl")
            let predicted = cases.map { Double($0.ids.count - 1) }
            let expected = zip(cases, predicted).map { $0.loss * $1 }.reduce(0, +) / predicted.reduce(0, +)

            let eval = try CommandRunner.run([
                "eval", "--model", HuggingFaceFixtures.folder(fixture).path, "--data", file.path, "--json",
            ])
            XCTAssertEqual(eval.status, 0, eval.standardError)
            let last = try XCTUnwrap(eval.standardOutput.split(separator: "\n").last, fixture)
            let result = try XCTUnwrap(
                JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Double], fixture)
            XCTAssertEqual(result["loss"]!, expected, accuracy: 1e-4 * expected, fixture)
            XCTAssertEqual(result["tokens"], predicted.reduce(0, +), fixture)
            XCTAssertEqual(
                result["perplexity"]!, Foundation.exp(result["loss"]!), accuracy: 1e-6 * result["perplexity"]!)
        }
    }
}
