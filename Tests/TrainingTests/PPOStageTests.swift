import Core
import Datasets
import Formats
import Foundation
import Models
import ReferenceDevice
import Tensors
import TestSupport
import XCTest

@testable import Inference
@testable import Training

/// PPO end to end on tiny models made here: a run reports finite TRL metrics with no KL at the
/// first rollout; an interrupted and resumed run ends with the same policy and value bits;
/// rollouts follow from their seed; the missing-EOS penalty lands on the right rows; a reward
/// model that is missing, not a reward model, or reads other tokens is a clear error.
final class PPOStageTests: XCTestCase {
    /// What the runs of a test answer; a test requests it to interrupt a run at a chosen step.
    private var interruption = Interruption()
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("ppo")
    }

    override func tearDown() {
        interruption = Interruption()
    }

    /// A policy, a reward model with the same tokenizer, and prompts, in `root`.
    private func makeWorld() throws -> PPOConfig {
        let policy = try PPOTinyModels.languageModel(at: root.appendingPathComponent("policy"))
        let reward = try PPOTinyModels.rewardModel(at: root.appendingPathComponent("reward"), from: policy)
        var config = PPOConfig()
        config.model.initFrom = policy.path
        config.rewardModel = reward.path
        config.data.path = try PPOTinyModels.writePrompts(to: root).path
        config.data.maxLength = 48
        config.data.heldoutFraction = 0.25
        config.rollout.maxNewTokens = 6
        config.rollout.temperature = 1
        config.train.steps = 4
        config.train.batchSize = 4
        config.train.evalEvery = 2
        config.train.checkpointEvery = 2
        config.train.seed = 11
        config.ppoEpochs = 2
        config.miniBatchSize = 2
        config.missingEosPenalty = 0.5
        config.optim.learningRate = 1e-3
        return config
    }

    @discardableResult
    private func train(
        _ config: PPOConfig, _ run: URL, existing: RunDirectory.Existing = .refuse,
        onEvent: @escaping (TrainingEvent) -> Void = { _ in }
    ) throws -> URL? {
        try PPOStage(
            config: config, run: RunDirectory(url: run, existing: existing), device: TestDevices.openCL.get(),
            interruption: interruption, emit: onEvent
        ).train()
    }

    func testRunReportsFiniteMetricsAndResumesToIdenticalPolicyAndValue() throws {
        let config = try makeWorld()
        let straight = root.appendingPathComponent("straight")
        var steps: [StepMetrics] = []
        let final = try train(config, straight) { if case .step(let metrics) = $0 { steps.append(metrics) } }
        XCTAssertEqual(final, straight.appendingPathComponent("final"))
        XCTAssertEqual(steps.map(\.step), [1, 2, 3, 4])
        for name in [
            "objective/scores", "objective/kl", "objective/entropy", "policy/clipfrac_avg", "loss/value_avg",
            "loss/policy_avg",
            "val/clipfrac_avg", "policy/approxkl_avg", "response_length", "rollout/tokens_per_s",
        ] {
            for metrics in steps {
                guard let value = metrics.extra[name] else { return XCTFail("step \(metrics.step) lacks \(name)") }
                XCTAssertTrue(value.isFinite, "\(name) at step \(metrics.step) is \(value)")
            }
        }
        XCTAssertTrue(steps.allSatisfy { $0.loss.isFinite && $0.gradientNorm.isFinite })
        XCTAssertEqual(
            steps[0].extra["objective/kl"]!, 0, accuracy: 1e-6, "the first rollout's policy is the reference")
        XCTAssertNotNil(steps[1].extra["eval/scores"], "held-out evaluation every 2 steps")
        for file in ["final/model.safetensors", "final/tokenizer.json", "value/model.safetensors", "value/config.json"]
        {
            XCTAssertTrue(FileManager.default.fileExists(atPath: straight.appendingPathComponent(file).path), file)
        }
        XCTAssertNotEqual(
            try weights(straight, "final"),
            try Data(
                contentsOf: URL(fileURLWithPath: config.model.initFrom)
                    .appendingPathComponent("model.safetensors")), "the policy moved")

        // Stopped after step 3 (between the checkpoints at 2 and 4), then resumed.
        let interrupted = root.appendingPathComponent("interrupted")
        XCTAssertNil(
            try train(config, interrupted) {
                if case .step(let metrics) = $0, metrics.step == 3 { self.interruption.request() }
            })
        interruption = Interruption()
        var resumedAt: Int?
        try train(config, interrupted, existing: .resume) {
            if case .started(_, _, _, _, let step) = $0 { resumedAt = step }
        }
        XCTAssertEqual(resumedAt, 3)
        XCTAssertEqual(try weights(interrupted, "final"), try weights(straight, "final"), "bit-identical policy")
        XCTAssertEqual(try weights(interrupted, "value"), try weights(straight, "value"), "bit-identical value model")
    }

    /// PPO-ptx: each update also trains the policy on chats (`ptx_coef` × their mean
    /// cross-entropy). The chats' loss falls further than without it, the figure is reported,
    /// and an interrupted run resumes bit for bit (the chats' order follows from the step).
    func testPTXLossPullsThePolicyTowardItsChatsAndResumes() throws {
        var config = try makeWorld()
        let chats = try writeFile(
            ["sky", "fox", "river", "hill"].map {
                #"{"messages": [{"role": "user", "content": "What is the \#($0)?"}, {"role": "assistant", "content": "The \#($0) is good."}]}"#
            }.joined(separator: "\n") + "\n", named: "chats.jsonl", in: root)
        config.ptxCoef = 1
        XCTAssertThrowsError(try config.validate()) {
            XCTAssertTrue("\($0)".contains("'ptx_data' must be the chats to train on"), "\($0)")
        }
        config.ptxData = chats.path

        let folder = try ChatModelFolder(url: URL(fileURLWithPath: config.model.initFrom))
        let examples = try ChatExamples.read(chats, encoder: folder.encoder, limits: config.data.limits) { _ in }
        func chatLoss(_ run: URL) throws -> Double {
            let model = try ChatModelFolder(url: run.appendingPathComponent("final")).loadModel(
                device: TestDevices.openCL.get())
            return try ChatExamples.meanLoss(model, examples, padID: folder.padID(config: model.config), batchSize: 4)
        }
        var ptxFigures: [Double] = []
        try train(config, root.appendingPathComponent("ptx")) {
            if case .step(let metrics) = $0 { ptxFigures += [metrics.extra["loss/ptx_avg"]].compactMap { $0 } }
        }
        XCTAssertEqual(ptxFigures.count, config.train.steps)
        XCTAssertTrue(ptxFigures.allSatisfy { $0.isFinite && $0 > 0 })
        var without = config
        without.ptxCoef = 0
        try train(without, root.appendingPathComponent("no-ptx"))
        XCTAssertLessThan(
            try chatLoss(root.appendingPathComponent("ptx")), try chatLoss(root.appendingPathComponent("no-ptx")))

        let interrupted = root.appendingPathComponent("ptx-interrupted")
        XCTAssertNil(
            try train(config, interrupted) {
                if case .step(let metrics) = $0, metrics.step == 3 { self.interruption.request() }
            })
        interruption = Interruption()
        try train(config, interrupted, existing: .resume)
        XCTAssertEqual(
            try weights(interrupted, "final"), try weights(root.appendingPathComponent("ptx"), "final"),
            "bit-identical policy")
    }

    private func weights(_ run: URL, _ folder: String) throws -> Data {
        try Data(contentsOf: run.appendingPathComponent(folder).appendingPathComponent("model.safetensors"))
    }

    /// The tiny policy of `config`, its folder and the first three encoded prompts.
    private func policyAndPrompts(_ config: PPOConfig) throws -> (LanguageModel, ChatModelFolder, [[Int]]) {
        let folder = try ChatModelFolder(url: URL(fileURLWithPath: config.model.initFrom))
        let (prompts, report) = Rollouts.encode(
            try RLPromptDataset.read(URL(fileURLWithPath: config.data.path)), encoder: folder.encoder,
            limits: config.data.limits)
        XCTAssertEqual(report.kept, prompts.count)
        return (try folder.loadModel(device: TestDevices.openCL.get()), folder, prompts.prefix(3).map(\.ids))
    }

    /// PPO with LoRA: the policy and the value model train adapters (the value head in full); the
    /// reference is the policy with its adapters off (KL 0 at the first step); both save adapters,
    /// and an interrupted run resumes to the same adapters.
    func testLoRATrainsPolicyAndValueAdapters() throws {
        var config = try makeWorld()
        config.lora = LoRASettings(r: 4, alpha: 8, targetModules: .allLinear)
        var steps: [StepMetrics] = []
        let final = try XCTUnwrap(
            train(config, root.appendingPathComponent("lora")) { event in
                if case .step(let metrics) = event { steps.append(metrics) }
            })
        XCTAssertEqual(try XCTUnwrap(steps.first?.extra["objective/kl"]), 0, accuracy: 1e-5)
        XCTAssertTrue(steps.allSatisfy { $0.loss.isFinite })
        XCTAssertEqual(try PEFTAdapter(folder: final).config.taskType, "CAUSAL_LM")
        let value = try PEFTAdapter(folder: root.appendingPathComponent("lora/value"))
        XCTAssertEqual(value.config.taskType, "SEQ_CLS")
        XCTAssertTrue(value.weights.contains("base_model.model.score.weight"))

        // Interrupted after step 3 and resumed: the same adapters, policy's and value model's.
        let interrupted = root.appendingPathComponent("lora-interrupted")
        XCTAssertNil(
            try train(config, interrupted) {
                if case .step(let metrics) = $0, metrics.step == 3 { self.interruption.request() }
            })
        interruption = Interruption()
        try train(config, interrupted, existing: .resume)
        for folder in ["final", "value"] {
            let bytes = { (run: String) in
                try Data(
                    contentsOf: self.root.appendingPathComponent("\(run)/\(folder)/\(PEFTAdapter.weightsFileName)"))
            }
            XCTAssertEqual(
                try bytes("lora-interrupted"), try bytes("lora"), "bit-identical \(folder) adapter after resuming")
        }
    }

    func testRolloutsFollowFromTheirSeedAndLabelTheResponses() throws {
        let (model, folder, prompts) = try policyAndPrompts(try makeWorld())
        var settings = RolloutSettings()
        settings.maxNewTokens = 5
        let first = try Rollouts.generate(model, encoder: folder.encoder, prompts: prompts, settings: settings, seed: 5)
        let again = try Rollouts.generate(model, encoder: folder.encoder, prompts: prompts, settings: settings, seed: 5)
        let other = try Rollouts.generate(model, encoder: folder.encoder, prompts: prompts, settings: settings, seed: 6)
        XCTAssertEqual(first.responseIDs, again.responseIDs)
        XCTAssertNotEqual(first.responseIDs, other.responseIDs)
        XCTAssertEqual(first.promptIDs, prompts)
        XCTAssertEqual(first.generatedTokens, first.responseIDs.reduce(0) { $0 + $1.count })
        for row in prompts.indices {
            let (prompt, response, example) = (prompts[row], first.responseIDs[row], first.examples[row])
            XCTAssertTrue((1...5).contains(response.count))
            XCTAssertEqual(first.endedWithStop[row], response.last == folder.encoder.endOfTurnID)
            XCTAssertEqual(Array(example.ids.prefix(prompt.count + response.count)), prompt + response)
            XCTAssertEqual(
                example.labels.filter { $0 != ChatExample.ignoredLabel }, response, "labels on the response only")
            XCTAssertEqual(example.promptLength, prompt.count)
            XCTAssertEqual(
                first.texts[row],
                folder.tokenizer.decode(first.endedWithStop[row] ? Array(response.dropLast()) : response))
        }
        XCTAssertNotEqual(Rollouts.seed(base: 11, step: 0), Rollouts.seed(base: 11, step: 1))
    }

    func testResponsesAreCutToTheLimitAndEndedTurnsClosedUnlabelled() throws {
        let (_, folder, prompts) = try policyAndPrompts(try makeWorld())
        let encoder = folder.encoder
        let newline = folder.tokenizer.encode("\n", addSpecialTokens: false)
        XCTAssertEqual(try Rollouts.turnSeparator(encoder: encoder), newline)
        let words = folder.tokenizer.encode(" blue sky", addSpecialTokens: false).map(Int32.init)
        let end = Int32(encoder.endOfTurnID)
        let limit = prompts[2].count + 2
        let rollout = try Rollouts.assemble(
            prompts: prompts,
            generations: [
                Generation(tokens: words + [end], stopReason: .endOfSequence),
                Generation(tokens: words, stopReason: .maxTokens),
                Generation(tokens: words + [end], stopReason: .endOfSequence),
            ],
            encoder: encoder, limit: 1000, seconds: 0.5)
        let response = words.map(Int.init) + [encoder.endOfTurnID]
        XCTAssertEqual(rollout.endedWithStop[0], true)
        XCTAssertEqual(
            rollout.examples[0].ids, prompts[0] + response + newline,
            "an ended turn is closed as the template writes it")
        XCTAssertEqual(
            rollout.examples[0].labels,
            prompts[0].map { _ in ChatExample.ignoredLabel } + response
                + newline.map { _ in ChatExample.ignoredLabel })
        XCTAssertEqual(rollout.texts[0], " blue sky")
        XCTAssertEqual(rollout.endedWithStop[1], false)
        XCTAssertEqual(
            rollout.examples[1].ids, prompts[1] + words.map(Int.init), "an unfinished response is not closed")
        XCTAssertEqual(rollout.generatedTokens, 3 * words.count + 2)
        XCTAssertEqual(rollout.tokensPerSecond, Double(rollout.generatedTokens) / 0.5)

        let cut = try Rollouts.assemble(
            prompts: [prompts[2]], generations: [Generation(tokens: words + [end], stopReason: .endOfSequence)],
            encoder: encoder, limit: limit, seconds: 1)
        XCTAssertEqual(cut.responseIDs[0], Array(words.prefix(2).map(Int.init)), "cut to the limit")
        XCTAssertEqual(cut.endedWithStop, [false], "a response cut short did not end its turn")
        XCTAssertEqual(cut.examples[0].ids.count, limit)
    }

    func testMissingEOSPenaltyLowersOnlyUnfinishedResponses() throws {
        let config = try makeWorld()
        let device = try TestDevices.openCL.get()
        let folder = try ChatModelFolder(url: URL(fileURLWithPath: config.model.initFrom))
        let policy = try folder.loadModel(device: device)
        let reward = URL(fileURLWithPath: config.rewardModel)
        let models = PPOModels(
            policy: policy, reference: try folder.loadModel(device: device, trainable: false),
            reward: try ScalarHeadModel.load(reward, device: device, trainable: false),
            value: try ScalarHeadModel.load(reward, device: device), encoder: folder.encoder,
            padID: folder.padID(config: policy.config))
        let (_, _, prompts) = try policyAndPrompts(config)
        var rollout = try Rollouts.generate(
            policy, encoder: folder.encoder, prompts: prompts, settings: config.rollout, seed: 3)
        rollout.endedWithStop = [true, false, true]
        let raw = try Tensor.withNoGrad {
            try CompletionBatch(rollout.examples, padID: models.padID).scores(models.reward).values()
        }
        let experience = try PPOExperience(rollout, models: models, config: config)
        XCTAssertEqual(experience.scores, [raw[0], raw[1] - 0.5, raw[2]])
        XCTAssertEqual(experience.metrics["val/num_eos_tokens"], 2)
        XCTAssertEqual(experience.metrics["objective/scores"]!, Double(raw.reduce(0, +) - 0.5) / 3, accuracy: 1e-5)
    }

    private func expectError(
        _ config: PPOConfig, mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(
            try train(config, root.appendingPathComponent("run-\(UUID().uuidString)")), file: file, line: line
        ) { error in
            for fragment in fragments {
                XCTAssertTrue("\(error)".contains(fragment), "'\(fragment)' not in: \(error)", file: file, line: line)
            }
        }
    }

    func testRewardModelProblemsAreClearErrors() throws {
        var config = try makeWorld()
        let reward = config.rewardModel
        config.rewardModel = ""
        expectError(config, mentions: ["'reward_model' is empty", "gputrain reward"])
        config.rewardModel = root.appendingPathComponent("nowhere").path
        expectError(config, mentions: ["'reward_model'", "nowhere", "not a model folder"])
        config.rewardModel = config.model.initFrom
        expectError(config, mentions: ["'reward_model'", "not a reward model"])
        let policy = URL(fileURLWithPath: config.model.initFrom)
        let stranger = try PPOTinyModels.languageModel(at: root.appendingPathComponent("stranger"), vocabularySize: 300)
        config.rewardModel = try PPOTinyModels.rewardModel(
            at: root.appendingPathComponent("stranger-reward"), from: stranger
        ).path
        expectError(
            config, mentions: ["stranger-reward/tokenizer.json", "differs from the policy's tokenizer", policy.path])
    }

    func testShippedRecipeLoadsAndValidates() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs/tiny-world-ppo.yaml")
        let config = try ConfigLoader.load(PPOConfig.self, from: url)
        XCTAssertNoThrow(try config.validate())
        XCTAssertEqual(config.rewardModel, "runs/tiny-world-reward/final")
        XCTAssertEqual(config.rowsPerUpdate, 8)
        XCTAssertEqual(config.rollout.logProbTemperature, 1.0)
        XCTAssertEqual(config.ptxCoef, 3)
        XCTAssertEqual(config.ptxData, "runs/tiny-world-data/world/sft.jsonl")
    }
}

/// Tiny chat models for the PPO tests (`TinyChatModel` on PPO's own sentences, 64 positions),
/// and a reward model made from one with a fresh scalar head.
enum PPOTinyModels {
    static let corpus = [
        "What is the colour of the sky? The sky is blue.", "Where does the fox live? The fox lives in the forest.",
        "Tell me about the river, the hill, the cat and the owl.", "The answer is good. The answer is bad.",
        "user assistant system",
    ]

    /// Writes a seeded tiny language model with its tokenizer into `folder`.
    static func languageModel(at folder: URL, vocabularySize: Int = 320, seed: UInt64 = 1) throws -> URL {
        try TinyChatModel.make(at: folder, seed: seed, vocabularySize: vocabularySize, texts: corpus, maxPositions: 64)
    }

    /// Writes a reward model made from the language model in `languageModel` into `folder`.
    static func rewardModel(at folder: URL, from languageModel: URL) throws -> URL {
        try TinyChatModel.rewardModel(at: folder, from: languageModel)
    }

    /// Writes a prompts file in TRL's format into `folder`.
    static func writePrompts(to folder: URL) throws -> URL {
        let subjects = ["sky", "fox", "river", "hill", "cat", "owl"]
        let lines = subjects.flatMap { subject in
            [
                #"{"prompt": "What is the \#(subject)?", "answer": "good"}"#,
                #"{"prompt": [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Tell me about the \#(subject)."}]}"#,
            ]
        }
        let url = folder.appendingPathComponent("prompts.jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url
    }
}
