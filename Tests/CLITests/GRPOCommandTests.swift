import Foundation
import TestSupport
import XCTest

/// `gputrain grpo` as a user runs it: a short run on the tiny llama fixture writes the final
/// model and TRL's metrics; a bad recipe fails naming what to change.
final class GRPOCommandTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("grpo-cli")
    }

    /// A recipe for two GRPO steps of two prompts with four completions each.
    private func recipe(rewards: String) throws -> URL {
        let prompts = root.appendingPathComponent("prompts.jsonl")
        let lines = ["the sky", "a fox", "the river", "an owl"].map {
            #"{"prompt": [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "What is \#($0)?"}]}"#
        }
        try (lines.joined(separator: "\n") + "\n").write(to: prompts, atomically: true, encoding: .utf8)
        let yaml = """
            model:
              init_from: \(HuggingFaceFixtures.folder("llama-tiny").path)
            data:
              path: \(prompts.path)
              max_length: 120
              heldout_fraction: 0
            rollout:
              max_new_tokens: 4
            num_generations: 4
            rewards: \(rewards)
            train:
              steps: 2
              batch_size: 2
            """
        let url = root.appendingPathComponent("grpo.yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testShortRunWritesTheModelAndMetrics() throws {
        let run = root.appendingPathComponent("run")
        let config = try recipe(rewards: "[{name: format, weight: 1.0}, {name: length, weight: 0.5}]")
        let result = try CommandRunner.run(["grpo", "--config", config.path, "--out", run.path, "--json"])
        XCTAssertEqual(result.status, 0, result.standardError)
        for file in ["final/model.safetensors", "final/tokenizer.json", "config.yaml", "checkpoints/step-2"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(file).path), file)
        }
        let lines = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(
            separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let metrics = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        for key in [
            "reward", "reward_std", "rewards/format/mean", "rewards/length/mean", "clip_ratio", "completion_length",
            "frac_reward_zero_std",
        ] {
            XCTAssertNotNil(metrics?[key], "\(key) in \(lines[0])")
        }
    }

    func testUnknownRewardListsTheChoices() throws {
        let config = try recipe(rewards: "[{name: exact_matches}]")
        let result = try CommandRunner.run([
            "grpo", "--config", config.path, "--out", root.appendingPathComponent("run").path,
        ])
        XCTAssertNotEqual(result.status, 0)
        for fragment in [
            "unknown reward 'exact_matches'", "did you mean 'exact_match'?",
            "exact_match, format, length, reward_model",
        ] {
            XCTAssertTrue(result.standardError.contains(fragment), "'\(fragment)' not in: \(result.standardError)")
        }
    }
}
