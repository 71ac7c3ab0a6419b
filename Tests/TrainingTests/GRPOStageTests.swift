import Core
import Datasets
import Formats
import Foundation
import Models
import Tensors
import TestSupport
import XCTest

@testable import Inference
@testable import Training

/// GRPO end to end on a tiny chat model made here: the figures are finite, an easy reward
/// rises, an interrupted run resumes to the same bits, and bad input is a clear error.
final class GRPOStageTests: XCTestCase {
    /// What the runs of a test answer; a test requests it to interrupt a run at a chosen step.
    private var interruption = Interruption()
    private var root: URL!
    private var notes: [String] = []

    override func setUpWithError() throws {
        root = try makeScratchFolder("grpo")
    }

    override func tearDown() {
        interruption = Interruption()
    }

    /// Eight arithmetic prompts, half asking for one word.
    private func writePrompts() throws -> URL {
        let url = root.appendingPathComponent("rl_prompts.jsonl")
        let lines = (0..<8).map { index -> String in
            let system = index % 2 == 0 ? #"{"role": "system", "content": "Answer in one word."}, "# : ""
            return
                #"{"prompt": [\#(system){"role": "user", "content": "What is \#(index) + 2?"}], "answer": "\#(index + 2)"}"#
        }
        try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    private func config(model: URL, prompts: URL, rewards: [RewardSpec]) -> GRPOConfig {
        var config = GRPOConfig()
        config.model.initFrom = model.path
        config.data.path = prompts.path
        config.data.heldoutFraction = 0
        config.data.maxLength = 48
        config.rollout.maxNewTokens = 8
        config.numGenerations = 4
        config.rewards = rewards
        config.lengthLimit = 6
        config.train.batchSize = 2
        config.train.steps = 4
        config.train.evalEvery = 0
        config.train.checkpointEvery = 2
        config.train.seed = 3
        config.optim.learningRate = 3e-3
        return config
    }

    private func train(
        _ config: GRPOConfig, run name: String, existing: RunDirectory.Existing = .refuse,
        onStep: @escaping (StepMetrics) -> Void = { _ in }
    ) throws -> (URL?, [StepMetrics]) {
        var steps: [StepMetrics] = []
        let run = try RunDirectory(url: root.appendingPathComponent(name), existing: existing)
        let final = try GRPOStage(
            config: config, run: run, device: TestDevices.openCL.get(), interruption: interruption
        ) { event in
            switch event {
            case .step(let metrics):
                steps.append(metrics)
                onStep(metrics)
            case .note(let note): self.notes.append(note)
            default: break
            }
        }.train()
        return (final, steps)
    }

    func testShorterAnswersAreLearnedAndFiguresAreFinite() throws {
        let model = try GRPOTestModels.chatModel(
            in: root.appendingPathComponent("model"), device: TestDevices.openCL.get())
        var config = config(model: model, prompts: try writePrompts(), rewards: [RewardSpec(name: "length")])
        config.train.steps = 12
        config.train.batchSize = 4
        config.optim.learningRate = 5e-2  // a fresh model's near-uniform choices need big steps to move
        let (final, steps) = try train(config, run: "length")
        XCTAssertEqual(steps.count, 12)
        for metrics in steps {
            for key in [
                "reward", "reward_std", "rewards/length/mean", "clip_ratio", "completion_length",
                "frac_reward_zero_std",
            ] {
                XCTAssertTrue(metrics.extra[key]?.isFinite ?? false, "\(key) at step \(metrics.step): \(metrics.extra)")
            }
            XCTAssertTrue(metrics.loss.isFinite && metrics.gradientNorm.isFinite)
            XCTAssertNil(metrics.extra["kl"], "no reference without beta")
        }
        let rewards = steps.map { $0.extra["reward"]! }
        let early = rewards.prefix(3).reduce(0, +) / 3
        let late = rewards.suffix(3).reduce(0, +) / 3
        XCTAssertGreaterThan(late, early + 0.2, "the length reward rises: \(rewards)")
        let folder = try XCTUnwrap(final)
        XCTAssertNoThrow(
            try ChatModelFolder(url: folder).loadModel(device: TestDevices.reference()),
            "final/ is a usable model folder")
    }

    /// GRPO with LoRA and a KL term: the reference is the policy with its adapters off, so the
    /// first step's KL is zero; the run saves a PEFT adapter that loads on its base.
    func testLoRAKeepsTheKLToTheAdaptersOffModel() throws {
        let model = try GRPOTestModels.chatModel(
            in: root.appendingPathComponent("model"), device: TestDevices.openCL.get())
        var config = config(model: model, prompts: try writePrompts(), rewards: [RewardSpec(name: "length")])
        config.beta = 0.04
        config.lora = LoRASettings(r: 4, alpha: 8, targetModules: .allLinear)
        config.optim.learningRate = 5e-2
        let (final, steps) = try train(config, run: "lora")
        XCTAssertEqual(try XCTUnwrap(steps.first?.extra["kl"]), 0, accuracy: 1e-6)
        XCTAssertGreaterThan(try XCTUnwrap(steps.last?.extra["kl"]), 0)
        let folder = try XCTUnwrap(final)
        XCTAssertTrue(PEFTAdapter.isAdapter(folder))
        XCTAssertNoThrow(try ChatModelFolder(url: folder).loadModel(device: TestDevices.reference()))
    }

    func testInterruptedRunResumesToIdenticalWeights() throws {
        let model = try GRPOTestModels.chatModel(
            in: root.appendingPathComponent("model"), device: TestDevices.openCL.get())
        var config = config(
            model: model, prompts: try writePrompts(),
            rewards: [
                RewardSpec(name: "exact_match"), RewardSpec(name: "format", weight: 0.5),
                RewardSpec(name: "length", weight: 0.2),
            ])
        config.numIterations = 2
        config.beta = 0.04
        config.lossType = .grpo
        config.train.gradientAccumulation = 2
        config.data.heldoutFraction = 0.25
        config.train.evalEvery = 2
        let (_, straight) = try train(config, run: "straight")
        XCTAssertTrue(notes.contains { $0.hasPrefix("held-out rewards before training: sampled reward") }, "\(notes)")
        for metrics in straight where metrics.step % 2 == 0 {
            for key in [
                "eval/reward", "eval/rewards/exact_match/mean", "eval/greedy/reward", "eval/greedy/rewards/length/mean",
            ] {
                XCTAssertTrue(metrics.extra[key]?.isFinite ?? false, "\(key) at step \(metrics.step): \(metrics.extra)")
            }
        }
        XCTAssertTrue(straight.allSatisfy { $0.extra["kl"]?.isFinite ?? false }, "kl is logged with a reference")
        XCTAssertTrue(straight.allSatisfy { ($0.extra["rewards/format/mean"] ?? -1) >= 0 })

        let (stopped, _) = try train(config, run: "interrupted") { if $0.step == 3 { self.interruption.request() } }
        XCTAssertNil(stopped)
        interruption = Interruption()
        let (resumedFinal, resumed) = try train(config, run: "interrupted", existing: .resume)
        XCTAssertEqual(resumed.map(\.step), [4])
        XCTAssertEqual(resumed.last?.extra["eval/reward"], straight.last?.extra["eval/reward"])
        XCTAssertEqual(
            resumed.last?.extra["reward"], straight.last?.extra["reward"],
            "the resumed step samples what the straight one did")
        let weights = { (run: String) in
            try Data(contentsOf: self.root.appendingPathComponent("\(run)/final/model.safetensors"))
        }
        XCTAssertNotNil(resumedFinal)
        XCTAssertEqual(try weights("interrupted"), try weights("straight"), "bit-identical final weights")
    }

    func testUnknownRewardNameIsAClearError() throws {
        let model = try GRPOTestModels.chatModel(
            in: root.appendingPathComponent("model"), device: TestDevices.reference())
        let config = config(model: model, prompts: try writePrompts(), rewards: [RewardSpec(name: "correctness")])
        XCTAssertThrowsError(try train(config, run: "unknown")) { error in
            XCTAssertTrue("\(error)".contains("unknown reward 'correctness'"), "\(error)")
            XCTAssertTrue("\(error)".contains("exact_match, format, length, reward_model"), "\(error)")
        }
    }

    func testBadPromptLineNamesFileAndLine() throws {
        let model = try GRPOTestModels.chatModel(
            in: root.appendingPathComponent("model"), device: TestDevices.reference())
        let prompts = root.appendingPathComponent("bad.jsonl")
        try #"{"prompt": "What is 1 + 1?", "answer": "2"}"#.appending("\n{\"prompt\": [{\"role\": \"user\"}]}\n")
            .write(to: prompts, atomically: true, encoding: .utf8)
        let config = config(model: model, prompts: prompts, rewards: [RewardSpec(name: "exact_match")])
        XCTAssertThrowsError(try train(config, run: "bad")) { error in
            XCTAssertTrue("\(error)".contains("\(prompts.path):2:") && "\(error)".contains("content"), "\(error)")
        }
    }

    func testSettingsAreChecked() throws {
        var config = GRPOConfig()
        config.numGenerations = 1
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("num_generations"), "\($0)") }
        config = GRPOConfig()
        config.rollout.temperature = 0
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("rollout.temperature"), "\($0)") }
        XCTAssertNoThrow(try GRPOConfig().validate())
    }

    func testTinyWorldRecipeReads() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs/tiny-world-grpo.yaml")
        let config = try ConfigLoader.load(GRPOConfig.self, from: file)
        XCTAssertNoThrow(try config.validate())
        XCTAssertEqual(config.rewards.map(\.name), ["exact_match", "format"])
        XCTAssertNoThrow(try RewardSet(specs: config.rewards, options: .init(), device: TestDevices.reference()))
    }

    func testRewardFiguresFollowTRL() {
        let metrics = GRPOPolicy.rewardMetrics(([1, 1, 0, 2], ["a": [1, 1, 0, 2]]), groupSize: 2)
        XCTAssertEqual(metrics["reward"], 1)
        XCTAssertEqual(
            metrics["reward_std"]!, 2.squareRoot() / 2, accuracy: 1e-12, "mean of the groups' deviations (0 and √2)")
        XCTAssertEqual(metrics["frac_reward_zero_std"], 0.5)
        XCTAssertEqual(metrics["rewards/a/mean"], 1)
    }
}

/// Tiny chat models for the GRPO and reward tests: a byte-level BPE tokenizer with the ChatML
/// tokens and a seeded 2-layer Llama over it. The tokenizer is trained on two-letter words, so
/// nearly half its tokens begin a word: a fresh model writes answers of varied word counts,
/// which gives a length reward something to learn.
enum GRPOTestModels {
    private static let text: String = {
        let letters = "abcdefghijklmnop".map(String.init)
        return letters.flatMap { first in letters.map { " " + first + $0 } }.joined()
    }()

    /// A causal LM folder (config, weights, tokenizer.json) in `folder`.
    static func chatModel(in folder: URL, device: Device, seed: UInt64 = 5) throws -> URL {
        let model = try languageModel(device: device, seed: seed)
        try ModelFolder.save(model.model, to: folder)
        try model.tokenizer.write(to: folder.appendingPathComponent("tokenizer.json"))
        return folder
    }

    /// A reward model folder (the chat model's backbone with a fresh scalar head) in `folder`.
    static func rewardModel(in folder: URL, device: Device) throws -> URL {
        let model = try languageModel(device: device, seed: 6)
        try ScalarHeadModel.initialized(from: model.model, device: device, seed: 7).save(to: folder)
        try model.tokenizer.write(to: folder.appendingPathComponent("tokenizer.json"))
        return folder
    }

    private static func languageModel(device: Device, seed: UInt64) throws -> (
        model: LanguageModel, tokenizer: Tokenizer
    ) {
        let tokenizer = try Tokenizer.train(texts: [text, text], vocabSize: 480)
        let config = ModelConfig(
            modelType: .llama, vocabSize: tokenizer.vocabularySize, hiddenSize: 32, layerCount: 2, headCount: 4,
            keyValueHeadCount: 2, intermediateSize: 48, maxPositions: 64, tieWordEmbeddings: false,
            eosTokenIDs: [tokenizer.id(of: "<|im_end|>")!], padTokenID: tokenizer.id(of: "<|pad|>"))
        let model = try makeLanguageModel(
            config: config, parameters: ParameterStore(device: device, specs: ModelParameters.specs(for: config)))
        try WeightInitializer.initialize(model, seed: seed)
        return (model, tokenizer)
    }
}
