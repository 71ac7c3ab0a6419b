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

/// The reward-model stage on a tiny chat model and an easy synthetic preference set: the
/// Bradley–Terry objective separates the pairs, a resumed run ends bit-identical, the final
/// folder is a sequence-classification model, and bad input is named.
final class RewardStageTests: XCTestCase {
    /// What the runs of a test answer; a test requests it to interrupt a run at a chosen step.
    private var interruption = Interruption()
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("reward")
    }

    override func tearDown() {
        interruption = Interruption()
    }

    private func config(steps: Int, pairs: Int = 48, margins: Bool = false) throws -> RewardConfig {
        var config = RewardConfig()
        config.model.initFrom = try TinyChatModel.make(at: root.appendingPathComponent("base")).path
        config.data.path = try TinyChatModel.write(
            TinyChatModel.preferenceLines(count: pairs, margins: margins), to: root,
            name: "preferences.jsonl"
        ).path
        config.data.heldoutFraction = 0.25
        config.data.maxLength = 96
        config.train = LoopSettings(
            steps: steps, batchSize: 8, gradientAccumulation: 1, evalEvery: 10, checkpointEvery: 10, seed: 5)
        config.optim.learningRate = 3e-3
        config.optim.warmupSteps = 2
        config.centerRewardsCoefficient = 0.01
        return config
    }

    private func train(
        _ config: RewardConfig, _ name: String, existing: RunDirectory.Existing = .refuse,
        device: Device? = nil, onEvent: @escaping (TrainingEvent) -> Void = { _ in }
    ) throws -> (URL?, [StepMetrics]) {
        var steps: [StepMetrics] = []
        let url = try RewardStage(
            config: config, run: RunDirectory(url: root.appendingPathComponent(name), existing: existing),
            device: device ?? TestDevices.openCL.get(), interruption: interruption
        ) { event in
            if case .step(let metrics) = event { steps.append(metrics) }
            onEvent(event)
        }.train()
        return (url, steps)
    }

    func testBradleyTerryTrainingSeparatesAnEasyPreferenceSet() throws {
        let config = try config(steps: 30)
        let (final, steps) = try train(config, "run")
        let folder = try XCTUnwrap(final)
        XCTAssertEqual(steps.count, 30)
        let first = steps.prefix(3).map { $0.extra["accuracy"]! }.reduce(0, +) / 3
        let last = steps.suffix(3).map { $0.extra["accuracy"]! }.reduce(0, +) / 3
        XCTAssertGreaterThan(last, first, "training accuracy rises")
        XCTAssertLessThan(steps.last!.loss, steps.first!.loss)
        XCTAssertNotNil(steps.first!.extra["margin"])

        let evaluated = steps.filter { $0.validationLoss != nil }
        XCTAssertEqual(evaluated.map(\.step), [10, 20, 30])
        for key in ["eval/accuracy", "eval/margin", "eval/accuracy/padded", "eval/accuracy/wrong_word"] {
            XCTAssertNotNil(evaluated.last!.extra[key], key)
        }
        let report = try RewardReport.read(from: root.appendingPathComponent("run"))
        XCTAssertEqual(report.heldoutPairs, 12)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(report.heldoutAccuracy), 0.9)
        XCTAssertGreaterThanOrEqual(report.trainAccuracy, 0.9)
        XCTAssertEqual(Set(report.heldoutAccuracyByKind.keys), ["padded", "wrong_word"])
        XCTAssertEqual(report.heldoutAccuracy, evaluated.last!.extra["eval/accuracy"])

        // The final folder is a one-label sequence-classification model that scores as trained.
        let saved = try ModelConfig(contentsOf: folder.appendingPathComponent("config.json"))
        XCTAssertEqual(saved.architectures, ["LlamaForSequenceClassification"])
        XCTAssertEqual(saved.labelCount, 1)
        XCTAssertNotNil(saved.padTokenID)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path))
        let scorer = try RewardScorer(folder: folder, device: TestDevices.openCL.get())
        let pairs = try PreferenceDataset.read(URL(fileURLWithPath: config.data.path))
        let (_, heldout) = EpochOrder.split(pairs, heldoutFraction: 0.25, seed: 5)
        XCTAssertEqual(try scorer.evaluate(heldout).accuracy, report.heldoutAccuracy)
        let good = try scorer.scores(prompts: [[.user("What is the fox?")]], answers: ["The fox is good."])
        let bad = try scorer.scores(prompts: [[.user("What is the fox?")]], answers: ["The fox is bad."])
        XCTAssertGreaterThan(good[0], bad[0])
    }

    /// A LoRA reward model: adapters on the frozen backbone plus a fully trained head, saved as a
    /// PEFT SEQ_CLS adapter with `score` among `modules_to_save`; it loads and scores as trained.
    func testLoRARewardModelSavesAdaptersAndTheHead() throws {
        var config = try config(steps: 30)
        config.lora = LoRASettings(r: 8, alpha: 16, targetModules: .allLinear)
        config.optim.learningRate = 1e-2
        let (final, _) = try train(config, "lora")
        let folder = try XCTUnwrap(final)
        let adapter = try PEFTAdapter(folder: folder)
        XCTAssertEqual(adapter.config.taskType, "SEQ_CLS")
        XCTAssertEqual(adapter.config.modulesToSave, ["score"])
        XCTAssertTrue(adapter.weights.contains("base_model.model.score.weight"))
        let report = try RewardReport.read(from: root.appendingPathComponent("lora"))
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(report.heldoutAccuracy), 0.75)
        let scorer = try RewardScorer(folder: folder, device: TestDevices.openCL.get())
        let pairs = try PreferenceDataset.read(URL(fileURLWithPath: config.data.path))
        let (_, heldout) = EpochOrder.split(pairs, heldoutFraction: 0.25, seed: 5)
        XCTAssertEqual(
            try scorer.evaluate(heldout).accuracy, report.heldoutAccuracy, "the saved adapter scores as trained")
    }

    func testInterruptedRunResumesToIdenticalWeights() throws {
        let config = try config(steps: 6, margins: true)
        var straight = config
        straight.train.checkpointEvery = 4
        _ = try train(straight, "straight")

        let (stopped, _) = try train(straight, "interrupted") { event in
            if case .step(let metrics) = event, metrics.step == 5 { self.interruption.request() }
        }
        XCTAssertNil(stopped)
        interruption = Interruption()
        var resumedAt: Int?
        _ = try train(straight, "interrupted", existing: .resume) { event in
            if case .started(_, _, _, _, let step) = event { resumedAt = step }
        }
        XCTAssertEqual(resumedAt, 5)
        let weights = { (run: String) in
            try Data(contentsOf: self.root.appendingPathComponent("\(run)/final/model.safetensors"))
        }
        XCTAssertEqual(try weights("interrupted"), try weights("straight"), "bit-identical final weights")
        XCTAssertEqual(
            try RewardReport.read(from: root.appendingPathComponent("interrupted")),
            try RewardReport.read(from: root.appendingPathComponent("straight")))
    }

    /// One batch of 2B sequences gives the loss of the chosen and rejected scores computed
    /// apart, with the data's margins inside the sigmoid and the centering term.
    func testOneBatchLossMatchesSeparatelyScoredPairs() throws {
        let device = try TestDevices.openCL.get()
        let config = try config(steps: 1, pairs: 8, margins: true)
        let folder = try ChatModelFolder(url: URL(fileURLWithPath: config.model.initFrom))
        let pairs = try EncodedPreferencePair.read(
            URL(fileURLWithPath: config.data.path), encoder: folder.encoder, limits: config.data.limits)
        XCTAssertEqual(pairs.map(\.margin), (0..<8).map { Float($0 % 4) * 0.5 })
        XCTAssertEqual(pairs.map(\.kind), (0..<8).map { $0 < 6 ? "wrong_word" : "padded" })
        let model = try ScalarHeadModel.initialized(from: folder.loadModel(device: device), device: device, seed: 3)
        let padID = folder.padID(config: model.config)
        let output = try RewardStage.loss(
            BradleyTerryLoss(centeringCoefficient: 0.01), model: model, pairs: pairs, padID: padID)
        let scorer = RewardScorer(model: model, encoder: folder.encoder, padID: padID, batchSize: 3)
        let expected = PreferenceEvaluation(
            pairs, chosen: try scorer.scores(pairs.map(\.chosen)),
            rejected: try scorer.scores(pairs.map(\.rejected)), centeringCoefficient: 0.01)
        XCTAssertEqual(Double(try output.loss.scalar()), expected.loss, accuracy: 1e-4)
        XCTAssertEqual(output.meanMargin, expected.meanMargin, accuracy: 1e-4)
        XCTAssertEqual(output.accuracy, expected.accuracy)
        XCTAssertEqual(try scorer.evaluate(pairs, centeringCoefficient: 0.01).loss, expected.loss, accuracy: 1e-4)
    }

    func testBadInputIsNamed() throws {
        var config = try config(steps: 1)
        var lines = TinyChatModel.preferenceLines(count: 4)
        lines[1] = #"{"prompt": "Where?", "chosen": "Here."}"#
        config.data.path = try TinyChatModel.write(lines, to: root, name: "broken.jsonl").path
        XCTAssertThrowsError(try train(config, "missing-rejected")) { error in
            XCTAssertTrue("\(error)".contains("broken.jsonl:2"), "\(error)")
            XCTAssertTrue("\(error)".contains("missing \"rejected\""), "\(error)")
        }

        lines = TinyChatModel.preferenceLines(count: 4, margins: true)
        lines[2] = TinyChatModel.preferenceLines(count: 4)[2]
        config.data.path = try TinyChatModel.write(lines, to: root, name: "margins.jsonl").path
        XCTAssertThrowsError(try train(config, "some-margins")) { error in
            XCTAssertTrue("\(error)".contains("margins.jsonl:3"), "\(error)")
            XCTAssertTrue("\(error)".contains("margin"), "\(error)")
        }

        config.model.initFrom = root.appendingPathComponent("no-such-model").path
        XCTAssertThrowsError(try train(config, "missing-model")) { error in
            XCTAssertTrue("\(error)".contains("'model.init_from'"), "\(error)")
            XCTAssertTrue("\(error)".contains("no-such-model"), "\(error)")
        }

        // A language model is not a reward model.
        XCTAssertThrowsError(
            try RewardScorer(folder: root.appendingPathComponent("base"), device: TestDevices.reference())
        ) { error in
            XCTAssertTrue("\(error)".contains("not a reward model"), "\(error)")
            XCTAssertTrue("\(error)".contains("has no score.weight"), "\(error)")
        }
    }

    func testTinyWorldRecipeReads() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("configs/tiny-world-reward.yaml")
        let config = try ConfigLoader.load(RewardConfig.self, from: url)
        XCTAssertEqual(config.model.initFrom, "runs/tiny-world-sft/final")
        XCTAssertEqual(config.data.path, "runs/tiny-world-data/world/preferences.jsonl")
        XCTAssertEqual(config.centerRewardsCoefficient, 0.01)
        XCTAssertNoThrow(try config.validate())
    }

    func testRewardModelMustShareThePolicyTokenizer() throws {
        let policy = try ChatModelFolder(
            url: TinyChatModel.make(at: root.appendingPathComponent("policy"), vocabularySize: 320))
        let same = try ChatModelFolder(
            url: TinyChatModel.make(at: root.appendingPathComponent("same"), seed: 2, vocabularySize: 320))
        let other = try ChatModelFolder(
            url: TinyChatModel.make(at: root.appendingPathComponent("other"), vocabularySize: 290))
        XCTAssertNoThrow(try policy.requireSameTokenizer(as: same))
        XCTAssertThrowsError(try policy.requireSameTokenizer(as: other)) { error in
            XCTAssertTrue("\(error)".contains("other/tokenizer.json"), "\(error)")
            XCTAssertTrue("\(error)".contains("differs from the policy's tokenizer"), "\(error)")
        }
    }

    /// transformers' `AutoModelForSequenceClassification` loads the saved folder and gives the
    /// same scores, one sequence at a time and in a right-padded batch.
    func testTransformersLoadsTheRewardModelWithTheSameScores() throws {
        let python = try PythonRunner.require(["torch", "transformers"])
        let device = TestDevices.reference()
        let base = try ChatModelFolder(url: TinyChatModel.make(at: root.appendingPathComponent("base")))
        let model = try ScalarHeadModel.initialized(from: base.loadModel(device: device), device: device, seed: 11)
        let folder = root.appendingPathComponent("reward")
        try base.saveScalarHeadModel(model, to: folder, padID: base.padID(config: model.config))

        let scorer = try RewardScorer(folder: folder, device: device)
        let chats: [[ChatMessage]] = [
            [.user("What is the sky?"), .assistant("The sky is blue.")],
            [.system("Answer in one word."), .user("Where does the fox live?"), .assistant("Forest")],
        ]
        let examples = chats.map { try! scorer.encoder.encode($0, trainedFrom: $0.count - 1) }
        let scores = try scorer.scores(examples)
        let cases = JSONValue.array(
            zip(examples, scores).map { example, score in
                .object(["ids": .array(example.ids.map { .int($0) }), "score": .double(score)])
            })
        try AtomicFile.write(cases.serializedData(), to: root.appendingPathComponent("cases.json"))
        let result = try PythonRunner.run(
            python,
            [
                "-c",
                """
                import json, sys, torch
                from transformers import AutoModelForSequenceClassification
                folder, cases = sys.argv[1], json.load(open(sys.argv[2]))
                model = AutoModelForSequenceClassification.from_pretrained(folder, torch_dtype=torch.float32).eval()
                pad = model.config.pad_token_id
                width = max(len(c["ids"]) for c in cases)
                with torch.no_grad():
                    single = [model(torch.tensor([c["ids"]])).logits[0, 0].item() for c in cases]
                    batch = model(torch.tensor([c["ids"] + [pad] * (width - len(c["ids"])) for c in cases])).logits[:, 0].tolist()
                for c, s, b in zip(cases, single, batch):
                    assert abs(s - c["score"]) < 1e-4 and abs(b - c["score"]) < 1e-4, (s, b, c["score"])
                print("ok", single)
                """, folder.path, root.appendingPathComponent("cases.json").path,
            ])
        XCTAssertEqual(result.status, 0, result.output)
    }
}
