import Foundation
import TestSupport
import XCTest

/// `gputrain ppo` as a user runs it: a short run on the tiny llama fixture (as policy, and with a
/// scalar head as reward model) writes the policy, the value model and TRL's metrics; bad
/// recipes fail with the key and what to do.
final class PPOCommandTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("ppo-cli")
    }

    private var policy: URL { HuggingFaceFixtures.folder("llama-tiny") }

    /// A recipe for two PPO iterations of four prompts.
    private func recipe(rewardModel: String, extra: String = "") throws -> URL {
        let prompts = root.appendingPathComponent("prompts.jsonl")
        let lines = ["the sky", "a fox", "the river", "an owl", "the hill"].map {
            #"{"prompt": "Tell me about \#($0)."}"#
        }
        try (lines.joined(separator: "\n") + "\n").write(to: prompts, atomically: true, encoding: .utf8)
        let yaml = """
            model:
              init_from: \(policy.path)
            reward_model: \(rewardModel)
            data:
              path: \(prompts.path)
              max_length: 40
              heldout_fraction: 0
            rollout:
              max_new_tokens: 4
            train:
              steps: 2
              batch_size: 4
            mini_batch_size: 2
            ppo_epochs: 1
            \(extra)
            """
        let url = root.appendingPathComponent("ppo.yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testShortRunWritesPolicyValueModelAndMetrics() throws {
        let reward = try Self.rewardModel(from: policy, in: root.appendingPathComponent("reward"))
        let run = root.appendingPathComponent("run")
        let result = try CommandRunner.run([
            "ppo", "--config", try recipe(rewardModel: reward.path).path, "--out", run.path, "--json",
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        for file in ["final/model.safetensors", "final/tokenizer.json", "value/model.safetensors", "config.yaml"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(file).path), file)
        }
        let lines = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(
            separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let metrics = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        for key in ["objective/scores", "objective/kl", "loss/value_avg", "rollout/tokens_per_s"] {
            XCTAssertNotNil(metrics?[key], "\(key) in \(lines[0])")
        }
    }

    func testBadRecipesNameTheKey() throws {
        func expectFailure(_ config: URL, mentions fragments: [String]) throws {
            let result = try CommandRunner.run([
                "ppo", "--config", config.path, "--out", root.appendingPathComponent("run-\(UUID())").path,
            ])
            XCTAssertNotEqual(result.status, 0)
            for fragment in fragments {
                XCTAssertTrue(result.standardError.contains(fragment), "'\(fragment)' not in: \(result.standardError)")
            }
        }
        try expectFailure(
            try recipe(rewardModel: "''"), mentions: ["'reward_model' is empty", "--set reward_model=DIR"])
        try expectFailure(try recipe(rewardModel: policy.path), mentions: ["not a reward model", "gputrain reward"])
        try expectFailure(
            try recipe(rewardModel: policy.path, extra: "kl_coeff: 0.1"),
            mentions: ["kl_coeff", "did you mean 'kl_coef'?"])
    }

    /// A reward model made from the language-model folder `source`: the same backbone and
    /// tokenizer, the LM head replaced by a small `score.weight` [1, hidden], the config's
    /// architecture made `LlamaForSequenceClassification`.
    static func rewardModel(from source: URL, in folder: URL) throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: source.appendingPathComponent("tokenizer.json"), to: folder.appendingPathComponent("tokenizer.json"))
        var config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json")))
            as! [String: Any]
        config["architectures"] = ["LlamaForSequenceClassification"]
        config["num_labels"] = 1
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("config.json"))
        let hidden = config["hidden_size"] as! Int

        let bytes = try Data(contentsOf: source.appendingPathComponent("model.safetensors"))
        let headerLength = Int(
            bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        var entries: [String: Any] = [:]
        var data = Data()
        func append(_ name: String, shape: [Int], _ tensor: Data) {
            entries[name] = ["dtype": "F32", "shape": shape, "data_offsets": [data.count, data.count + tensor.count]]
            data += tensor
        }
        for (name, value) in header.sorted(by: { $0.key < $1.key })
        where name != "__metadata__" && name != "lm_head.weight" {
            let entry = value as! [String: Any]
            let offsets = entry["data_offsets"] as! [Int]
            append(
                name, shape: entry["shape"] as! [Int],
                bytes.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1])))
        }
        let head = (0..<hidden).map { Float($0 % 7 - 3) * 0.05 }
        append("score.weight", shape: [1, hidden], head.withUnsafeBufferPointer { Data(buffer: $0) })
        var json = try JSONSerialization.data(withJSONObject: entries, options: .sortedKeys)
        json += Data(repeating: 0x20, count: (8 - json.count % 8) % 8)
        var output = Data((0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) })
        output += json + data
        try output.write(to: folder.appendingPathComponent("model.safetensors"))
        return folder
    }
}
