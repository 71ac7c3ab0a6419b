import Formats
import Foundation
import XCTest

@testable import Pipeline
@testable import Training

/// Every number of a recipe is checked as it loads: a value out of range is an error naming the
/// file, the line (or the `--set` that gave it), the key, the value and the valid range, never
/// a trap later. Each case would otherwise crash (negative seed, zero batch), train nothing
/// (zero accumulation), or write a model gputrain cannot load (zero layers).
final class RecipeRangeTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("recipe-ranges-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// The error of loading `yaml` as `T`, or nil when it loads.
    private func loadError<T: Configuration>(_: T.Type, _ yaml: String, overrides: [String] = []) throws -> String? {
        let url = folder.appendingPathComponent("recipe.yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigLoader.load(T.self, from: url, overrides: overrides)
            return nil
        } catch let error as ConfigError {
            return error.description
        }
    }

    private var recipePath: String { folder.appendingPathComponent("recipe.yaml").path }

    func testPretrainingValuesOutOfRangeNameFileLineKeyValueAndRange() throws {
        let cases: [(yaml: String, expected: String)] = [
            ("train:\n  steps: 0\n", "'train.steps' must be at least 1, got 0"),
            ("train:\n  steps: -5\n", "'train.steps' must be at least 1, got -5"),
            ("train:\n  batch_size: 0\n", "'train.batch_size' must be at least 1, got 0"),
            ("train:\n  gradient_accumulation: 0\n", "'train.gradient_accumulation' must be at least 1, got 0"),
            ("train:\n  sequence_length: -1\n", "'train.sequence_length' must be in 2…1048576, got -1"),
            ("train:\n  seed: -1\n", "'train.seed' must be 0 or more, got -1"),
            ("train:\n  dropout: -0.1\n", "'train.dropout' must be in [0, 1), got -0.1"),
            ("model:\n  layers: 0\n", "'model.layers' must be in 1…1048576, got 0"),
            ("model:\n  hidden_size: 100000000000\n", "'model.hidden_size' must be in 1…1048576, got 100000000000"),
            ("model:\n  heads: 3\n", "'model.heads' must be a divisor of model.hidden_size (128), got 3"),
            ("model:\n  key_value_heads: 3\n", "'model.key_value_heads' must be 0 (as many as heads) or a divisor"),
            (
                "train:\n  sequence_length: 100\nmodel:\n  max_positions: 64\n",
                "'train.sequence_length' must be at most model.max_positions (64), got 100"
            ),
            ("model:\n  rope_theta: -1\n", "'model.rope_theta' must be a positive number, got -1.0"),
            ("optim:\n  learning_rate: -0.001\n", "'optim.learning_rate' must be a positive number, got -0.001"),
            ("optim:\n  beta1: 1.0\n", "'optim.beta1' must be in [0, 1), got 1.0"),
            ("optim:\n  warmup_steps: -3\n", "'optim.warmup_steps' must be 0 or more, got -3"),
            ("optim:\n  weight_decay: -0.1\n", "'optim.weight_decay' must be 0 or more, got -0.1"),
            ("run:\n  name: ../../etc\n", "'run.name' must be a plain folder name ([A-Za-z0-9][A-Za-z0-9._-]*)"),
            ("data:\n  tiny_world: /tmp/world\n", "'data.tiny_world' must be a folder relative to run.out"),
            ("data:\n  tiny_world: a/../../x\n", "'data.tiny_world' must be a folder relative to run.out"),
        ]
        for (yaml, expected) in cases {
            let message = try XCTUnwrap(try loadError(PretrainConfig.self, yaml), "\(yaml) loaded")
            XCTAssertTrue(message.hasPrefix("\(recipePath):2: "), "\(yaml): \(message)")
            XCTAssertTrue(message.contains(expected), "\(yaml): \(message)")
        }
    }

    func testPostTrainingValuesOutOfRange() throws {
        let cases: [(yaml: String, expected: String)] = [
            ("train:\n  batch_size: 0\n", "'train.batch_size' must be at least 1, got 0"),
            ("train:\n  gradient_accumulation: 0\n", "'train.gradient_accumulation' must be at least 1, got 0"),
            ("data:\n  heldout_fraction: 1.5\n", "'data.heldout_fraction' must be in [0, 1), got 1.5"),
            ("data:\n  max_prompt_length: 300\n", "'data.max_prompt_length' must be 0 (no limit) or less than"),
            ("lora:\n  r: 100000\n", "'lora.r' must be at most 4096, got 100000"),
            ("run:\n  name: a/b\n", "'run.name' must be a plain folder name"),
        ]
        for (yaml, expected) in cases {
            let message = try XCTUnwrap(try loadError(SFTConfig.self, yaml), "\(yaml) loaded")
            XCTAssertTrue(message.hasPrefix("\(recipePath):2: "), "\(yaml): \(message)")
            XCTAssertTrue(message.contains(expected), "\(yaml): \(message)")
        }
    }

    /// The online and preference stages' own keys, each on line 2 of its recipe.
    func testStageKeysOutOfRange() throws {
        func check<T: Configuration>(_ type: T.Type, _ cases: [(yaml: String, expected: String)]) throws {
            for (yaml, expected) in cases {
                let message = try XCTUnwrap(try loadError(type, yaml), "\(yaml) loaded")
                XCTAssertTrue(message.hasPrefix("\(recipePath):2: "), "\(yaml): \(message)")
                XCTAssertTrue(message.contains(expected), "\(yaml): \(message)")
            }
        }
        try check(
            PPOConfig.self,
            [
                ("reward_model: r\nppo_epochs: 0\n", "'ppo_epochs' must be at least 1, got 0"),
                ("reward_model: r\ncliprange: .nan\n", "'cliprange' must be a positive number, got nan"),
                ("reward_model: r\ngamma: 1.5\n", "'gamma' must be in [0, 1], got 1.5"),
                ("reward_model: r\nkl_coef: .inf\n", "'kl_coef' must be 0 or a positive number, got inf"),
                ("rollout:\n  top_p: 0\n", "'rollout.top_p' must be in (0, 1], got 0.0"),
            ])
        try check(
            GRPOConfig.self,
            [
                ("rewards: []\nnum_generations: 1\n", "'num_generations' must be in 2…65536"),
                ("num_generations: 4\nbeta: -1\n", "'beta' must be 0 or a positive number, got -1.0"),
                (
                    "num_generations: 4\nlength_limit: 0\nrewards: [{name: length}]\n",
                    "'length_limit' must be at least 1"
                ),
                ("num_generations: 4\nrewards: [{name: lenght}]\n", "unknown reward 'lenght'; did you mean 'length'?"),
            ])
        try check(DPOConfig.self, [("loss:\n  beta: 0\n", "'loss.beta' must be a positive number, got 0.0")])
        try check(
            RewardConfig.self,
            [("# a reward model\ncenter_rewards_coefficient: -1\n", "'center_rewards_coefficient' must be 0 (off)")])
    }

    func testAnOverrideIsNamedInsteadOfALine() throws {
        let message = try XCTUnwrap(try loadError(DPOConfig.self, "train:\n  steps: 3\n", overrides: ["train.seed=-2"]))
        XCTAssertTrue(message.hasPrefix("--set train.seed=-2: "), message)
        XCTAssertTrue(message.contains("'train.seed' must be 0 or more, got -2"), message)
    }

    func testThePipelineNamesTheSectionAndLine() throws {
        let message = try XCTUnwrap(try loadError(PipelineConfig.self, "sft:\n  train:\n    batch_size: 0\n"))
        XCTAssertTrue(message.hasPrefix("\(recipePath):3: "), message)
        XCTAssertTrue(message.contains("in section 'sft': 'train.batch_size' must be at least 1, got 0"), message)
    }

    func testPathsInsideTheRunsFolder() {
        for path in ["tiny-world-data", "data/tiny-world", "a/./b"] {
            XCTAssertTrue(RunSettings.isInsideRunsFolder(path), path)
        }
        for path in ["", "/tmp/x", "~/x", "..", "../x", "a/../../b", "a/.."] {
            XCTAssertFalse(RunSettings.isInsideRunsFolder(path), path)
        }
    }

    func testPlainRunNames() {
        for name in ["tiny-world", "run_1", "a.b", "7"] { XCTAssertTrue(RunSettings.isPlainName(name), name) }
        for name in ["", ".", "..", "../x", "a/b", "-x", ".hidden", "a b", "é"] {
            XCTAssertFalse(RunSettings.isPlainName(name), name)
        }
    }
}
