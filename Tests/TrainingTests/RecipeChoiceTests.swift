import Formats
import Foundation
import TestSupport
import XCTest

@testable import Pipeline
@testable import Training

/// Names in a recipe (`optim.schedule`, `loss.type`, …) and the stages' own checks fail as the
/// recipe loads: the error names the file, the line, the key, the value and the valid names,
/// and comes before any file the recipe names is opened.
final class RecipeChoiceTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("recipe-choices-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// The message of loading `yaml` as `T`, or "loaded" when it loads.
    private func loadError<T: Configuration>(_: T.Type, _ yaml: String, overrides: [String] = []) throws -> String {
        let url = folder.appendingPathComponent("recipe.yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        do {
            _ = try ConfigLoader.load(T.self, from: url, overrides: overrides)
            return "loaded"
        } catch let error as ConfigError {
            return error.description
        }
    }

    private var recipePath: String { folder.appendingPathComponent("recipe.yaml").path }

    func testMisspeltScheduleNamesFileLineKeyAndChoices() throws {
        let message = try loadError(SFTConfig.self, "train:\n  steps: 3\noptim:\n  schedule: cosin\n")
        XCTAssertTrue(message.hasPrefix("\(recipePath):4: "), message)
        XCTAssertTrue(
            message.contains("'optim.schedule' must be one of cosine, linear, constant, got 'cosin'"), message)
    }

    /// The model folder does not exist, yet the loss type is what is reported: nothing was opened.
    func testMisspeltLossTypeComesBeforeTheMissingModel() throws {
        let yaml =
            "model:\n  init_from: \(folder.appendingPathComponent("no-such-model").path)\nloss:\n  type: sigmod\n"
        let message = try loadError(DPOConfig.self, yaml)
        XCTAssertTrue(message.hasPrefix("\(recipePath):4: "), message)
        XCTAssertTrue(
            message.contains(
                "'loss.type' must be one of sigmoid, conservative, robust, ipo, hinge, simpo, orpo, kto, got 'sigmod'"),
            message)
    }

    func testEveryChoiceIsCheckedAtLoad() throws {
        let cases: [(String, String, String)] = [
            (try loadError(DPOConfig.self, "reference:\n  mode: frozen\n"), "'reference.mode'", "cached, model, none"),
            (try loadError(SFTConfig.self, "loss_on: prompt\n"), "'loss_on'", "assistant_only, all_tokens"),
            (
                try loadError(SFTConfig.self, "data:\n  template: vicuna\n"), "'data.template'",
                "auto, chatml, llama3, llama3.1"
            ),
            (try loadError(PPOConfig.self, "kl_estimator: k2\n"), "'kl_estimator'", "k1, k3"),
            (try loadError(GRPOConfig.self, "loss_type: ppo\n"), "'loss_type'", "grpo, bnpo, dapo, dr_grpo"),
            (try loadError(GRPOConfig.self, "scale_rewards: all\n"), "'scale_rewards'", "group, batch, none"),
            (try loadError(PretrainConfig.self, "model:\n  type: qwen2\n"), "'model.type'", "gpt2, llama"),
            (
                try loadError(PretrainConfig.self, "data:\n  tiny_world_size: huge\n"), "'data.tiny_world_size'",
                "smoke, standard, large"
            ),
            (try loadError(PipelineConfig.self, "stages: [sft, kto]\n"), "'stages[1]'", "sft, reward, dpo, ppo, grpo"),
            (
                try loadError(PipelineConfig.self, "dpo:\n  optim:\n    schedule: step\n"), "'dpo.optim.schedule'",
                "cosine, linear, constant"
            ),
        ]
        for (message, key, choices) in cases {
            XCTAssertTrue(message.hasPrefix(recipePath + ":"), message)
            XCTAssertTrue(message.contains(key) && message.contains("one of \(choices)"), message)
        }
    }

    func testOverrideIsCheckedLikeTheFile() throws {
        let message = try loadError(SFTConfig.self, "train:\n  steps: 3\n", overrides: ["optim.schedule=cosin"])
        XCTAssertEqual(
            message, "--set optim.schedule=cosin: 'optim.schedule' must be one of cosine, linear, constant, got 'cosin'"
        )
    }

    /// GRPO refuses a bad `lora:` section as the other stages do, at load and when started.
    func testGRPORefusesABadLoRASectionLikeTheOtherStages() throws {
        let yaml = "lora:\n  r: 4\n  target_modules: '(q_proj'\n"
        for message in [
            try loadError(GRPOConfig.self, yaml), try loadError(SFTConfig.self, yaml),
            try loadError(DPOConfig.self, yaml),
        ] {
            XCTAssertTrue(message.contains("'lora.target_modules' is not a valid regular expression"), message)
        }
        var config = GRPOConfig()
        config.lora = LoRASettings(r: 4, targetModules: .pattern("(q_proj"))
        let run = try RunDirectory(url: folder.appendingPathComponent("run"), existing: .overwrite)
        XCTAssertThrowsError(
            try GRPOStage(config: config, run: run, device: TestDevices.reference(), emit: { _ in }).train()
        ) {
            XCTAssertTrue("\($0)".contains("'lora.target_modules'"), "\($0)")
        }
    }

    /// A stage's own checks also run at load, with the file named; in a pipeline the section too.
    func testStageChecksRunAtLoad() throws {
        let ppo = try loadError(PPOConfig.self, "ptx_coef: 2\n")
        XCTAssertTrue(
            ppo.hasPrefix(recipePath)
                && ppo.contains("'ptx_data' must be the chats to train on (an SFT JSONL file) when ptx_coef is 2.0"),
            ppo)
        let pipeline = try loadError(PipelineConfig.self, "sft:\n  lora:\n    r: -1\n")
        XCTAssertTrue(pipeline.contains("in section 'sft'") && pipeline.contains("'lora.r'"), pipeline)
        let orphan = try loadError(PipelineConfig.self, "stages: [sft, ppo]\n")
        XCTAssertTrue(orphan.contains("ppo without reward"), orphan)
    }
}
