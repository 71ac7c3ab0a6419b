import Foundation
import TestSupport
import XCTest

/// `gputrain generate` as a user runs it, on the tiny fixture models.
final class GenerateCommandTests: XCTestCase {
    private func generate(_ model: String, _ arguments: [String]) throws -> CommandRunner.Result {
        try CommandRunner.run(
            ["generate", "--model", HuggingFaceFixtures.folder(model).path, "--device", "reference"] + arguments)
    }

    func testPrintsThePromptThenItsContinuation() throws {
        for model in ["gpt2-tiny", "llama-tiny"] {
            let result = try generate(
                model, ["--prompt", "The quick brown", "--max-tokens", "6", "--temperature", "0"])
            XCTAssertEqual(result.status, 0, result.standardError)
            XCTAssertTrue(result.standardOutput.hasPrefix("The quick brown"), result.standardOutput)
            XCTAssertGreaterThan(result.standardOutput.count, "The quick brown\n".count, "\(model) adds text")
            XCTAssertTrue(result.standardError.contains("6 tokens in"), result.standardError)
            XCTAssertEqual(
                try generate(model, ["--prompt", "The quick brown", "--max-tokens", "6", "--temperature", "0"])
                    .standardOutput,
                result.standardOutput, "greedy is deterministic")
        }
    }

    func testSamplingFollowsTheSeed() throws {
        func sample(_ seed: Int) throws -> String {
            let result = try generate(
                "llama-tiny",
                [
                    "--prompt", "Hello", "--max-tokens", "12", "--top-k", "40", "--top-p", "0.95",
                    "--repetition-penalty", "1.2", "--seed", String(seed),
                ])
            XCTAssertEqual(result.status, 0, result.standardError)
            return result.standardOutput
        }
        let first = try sample(1)
        XCTAssertEqual(try sample(1), first)
        XCTAssertNotEqual(try sample(2), first)
    }

    func testNoNewTokensPrintsThePromptAlone() throws {
        let result = try generate("gpt2-tiny", ["--prompt", "naïve café", "--max-tokens", "0"])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(result.standardOutput, "naïve café\n")
    }

    func testBadSettingsAreClearErrors() throws {
        let result = try generate("gpt2-tiny", ["--prompt", "x", "--top-p", "1.5"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("top-p 1.5 must be in (0, 1]"), result.standardError)
    }
}
