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

/// The DPO stage end to end on a tiny chat model and a synthetic preference set: every loss
/// variant trains, DPO learns the preference, the cached and the live reference agree, the cache
/// is reused, an interrupted run resumes to the same bits, and bad input is named.
final class DPOStageTests: XCTestCase {
    /// What the runs of a test answer; a test requests it to interrupt a run at a chosen step.
    private var interruption = Interruption()
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("dpo")
    }

    override func tearDown() {
        interruption = Interruption()
    }

    // MARK: - Fixtures

    private static let subjects = [
        "apple", "river", "stone", "cloud", "tiger", "lemon", "forest", "candle",
        "garden", "pepper", "rocket", "violin", "castle", "meadow", "harbor", "comet",
    ]

    /// A preference pair as a JSONL line: "good" answers are preferred to "bad" ones.
    private static func pairLine(_ subject: String) -> String {
        #"{"prompt": [{"role": "user", "content": "How is the \#(subject)?"}], "#
            + #""chosen": [{"role": "assistant", "content": "The \#(subject) is good."}], "#
            + #""rejected": [{"role": "assistant", "content": "The \#(subject) is bad."}]}"#
    }

    /// The synthetic preference set, one pair per subject.
    private func writePairs(_ subjects: [String] = DPOStageTests.subjects, name: String = "pairs.jsonl") throws -> URL {
        let url = root.appendingPathComponent(name)
        try (subjects.map(Self.pairLine).joined(separator: "\n") + "\n").write(
            to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// A tiny chat model folder: a BPE tokenizer trained on the pairs' text (ChatML tokens
    /// included), and a freshly initialised two-layer llama.
    private func makeModel() throws -> URL {
        let texts = Self.subjects.flatMap {
            ["How is the \($0)?", "The \($0) is good.", "The \($0) is bad.", "user assistant"]
        }
        return try TinyChatModel.make(
            at: root.appendingPathComponent("model"), seed: 3, texts: texts, minimumFrequency: 1, maxPositions: 64)
    }

    private func config(model: URL, data: URL, steps: Int = 2) -> DPOConfig {
        var config = DPOConfig()
        config.model.initFrom = model.path
        config.data.path = data.path
        config.data.heldoutFraction = 0.25
        config.data.maxLength = 48
        config.train = LoopSettings(
            steps: steps, batchSize: 2, gradientAccumulation: 2, evalEvery: 2, checkpointEvery: 2, seed: 5)
        config.optim.learningRate = 5e-3
        config.optim.warmupSteps = 0
        config.optim.schedule = .constant
        config.loss.beta = 0.5
        return config
    }

    /// What one run emitted.
    private struct Outcome {
        var events: [TrainingEvent] = []
        var final: URL?
        var steps: [StepMetrics] { events.compactMap { if case .step(let m) = $0 { return m } else { return nil } } }
        var notes: [String] { events.compactMap { if case .note(let n) = $0 { return n } else { return nil } } }
    }

    /// The cache folder the runs of a test share, as the runs under one `run.out` do.
    private var cacheFolder: URL { root.appendingPathComponent(".cache") }

    private func train(
        _ config: DPOConfig, run: String, existing: RunDirectory.Existing = .refuse,
        interruptAfter step: Int? = nil
    ) throws -> Outcome {
        var outcome = Outcome()
        var directory = try RunDirectory(url: root.appendingPathComponent(run), existing: existing)
        directory.cacheFolder = cacheFolder
        let stage = DPOStage(
            config: config, run: directory,
            device: try TestDevices.openCL.get(), interruption: interruption
        ) { event in
            outcome.events.append(event)
            if case .step(let m) = event, m.step == step { self.interruption.request() }
        }
        outcome.final = try stage.train()
        return outcome
    }

    private func weights(_ folder: URL?) throws -> Data {
        try Data(contentsOf: XCTUnwrap(folder).appendingPathComponent("model.safetensors"))
    }

    // MARK: - Tests

    /// Each loss runs through the stage; at the first step the policy is the reference, so the
    /// DPO family starts at its known value (log 2 for the sigmoid losses, 1 for hinge, 1/(2β)²
    /// for IPO).
    func testEveryLossVariantTrains() throws {
        let model = try makeModel()
        let data = try writePairs()
        let cases:
            [(
                type: PreferenceLossSettings.LossType, mode: ReferenceMode, smoothing: Double, rpoAlpha: Double,
                firstLoss: Double?
            )] = [
                (.sigmoid, .cached, 0, 0, log(2)), (.conservative, .cached, 0.1, 0, log(2)),
                (.robust, .model, 0.2, 0, log(2)),
                (.hinge, .cached, 0, 0, 1), (.ipo, .cached, 0, 0, 1), (.simpo, .cached, 0, 0, nil),
                (.sigmoid, .none, 0, 0, nil),
                (.sigmoid, .cached, 0, 0.5, log(2)),
            ]
        for item in cases {
            var config = config(model: model, data: data)
            config.loss.type = item.type
            config.loss.labelSmoothing = item.smoothing
            config.loss.rpoAlpha = item.rpoAlpha
            config.reference.mode = item.mode
            let label = "\(item.type) with reference \(item.mode), rpo_alpha \(item.rpoAlpha)"
            let outcome = try train(config, run: label.filter { $0.isLetter || $0.isNumber })
            XCTAssertEqual(outcome.steps.map(\.step), [1, 2], label)
            XCTAssertTrue(outcome.steps.allSatisfy { $0.loss.isFinite && $0.gradientNorm > 0 }, label)
            let nll = outcome.steps[0].extra["nll_loss"]
            XCTAssertEqual(nll != nil, item.rpoAlpha > 0, "\(label): nll_loss is reported when it is trained")
            if let expected = item.firstLoss {
                XCTAssertEqual(outcome.steps[0].loss, expected + item.rpoAlpha * (nll ?? 0), accuracy: 1e-4, label)
            }
            let last = try XCTUnwrap(outcome.steps.last)
            XCTAssertNotNil(last.validationLoss, label)
            for key in [
                "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
                "eval/rewards/accuracies", "eval/rewards/margins",
            ] {
                XCTAssertNotNil(last.extra[key], "\(label): \(key)")
            }
            let final = try XCTUnwrap(outcome.final, label)
            for file in ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"] {
                XCTAssertTrue(
                    FileManager.default.fileExists(atPath: final.appendingPathComponent(file).path), "\(label): \(file)"
                )
            }
        }
    }

    /// DPO with LoRA: the reference is the policy with its adapters off (no second model), so the
    /// first step starts at log 2; the run saves a PEFT adapter.
    func testLoRAReferenceIsThePolicyWithAdaptersOff() throws {
        var config = config(model: try makeModel(), data: try writePairs(), steps: 4)
        config.reference.mode = .model
        config.lora = LoRASettings(r: 4, alpha: 8, targetModules: .allLinear)
        let outcome = try train(config, run: "lora")
        XCTAssertTrue(outcome.notes.contains { $0.contains("LoRA adapters off") }, "\(outcome.notes)")
        XCTAssertEqual(outcome.steps[0].loss, log(2), accuracy: 1e-5)
        XCTAssertGreaterThan(
            outcome.steps.last!.extra["rewards/margins"]!, 0, "the adapters move the policy away from the reference")
        XCTAssertTrue(PEFTAdapter.isAdapter(try XCTUnwrap(outcome.final)))
    }

    /// Sigmoid DPO learns that "good" beats "bad", on held-out subjects too.
    func testSigmoidDPORaisesRewardAccuracy() throws {
        var config = config(model: try makeModel(), data: try writePairs(), steps: 12)
        config.train.evalEvery = 4
        let steps = try train(config, run: "learn").steps
        let evals = steps.compactMap { $0.extra["eval/rewards/accuracies"] }
        XCTAssertEqual(evals.count, 3)
        XCTAssertEqual(
            steps[0].extra["rewards/accuracies"] ?? 1, 0, accuracy: 0.5, "at the start the policy is the reference")
        XCTAssertGreaterThanOrEqual(evals.last!, 0.75, "held-out accuracies \(evals)")
        XCTAssertGreaterThan(steps.last!.extra["eval/rewards/margins"]!, 0)
        XCTAssertLessThan(steps.last!.loss, steps[0].loss - 0.1, "losses \(steps.map(\.loss))")
    }

    /// The cached reference gives the live frozen model's trajectory; the cache file is made
    /// once, reused by the next run, and remade when the data changes.
    func testCachedReferenceMatchesModelReferenceAndIsReused() throws {
        let model = try makeModel()
        let data = try writePairs()
        var config = config(model: model, data: data, steps: 4)
        let cached = try train(config, run: "cached")
        let cacheFiles = try FileManager.default.contentsOfDirectory(atPath: cacheFolder.path).filter {
            $0.hasPrefix("pairs.jsonl.ref-logprobs-")
        }
        XCTAssertEqual(cacheFiles.count, 1, "\(cacheFiles)")
        let cacheURL = cacheFolder.appendingPathComponent(cacheFiles[0])
        XCTAssertTrue(
            cached.notes.contains { $0.contains("computed") && $0.contains(cacheURL.path) }, "\(cached.notes)")
        config.reference.mode = .model
        let live = try train(config, run: "live")
        XCTAssertFalse(live.notes.contains { $0.contains("reference log-probs") })
        XCTAssertEqual(cached.steps.count, 4)
        for (a, b) in zip(cached.steps, live.steps) {
            XCTAssertEqual(a.loss, b.loss, accuracy: 1e-6, "step \(a.step)")
            XCTAssertEqual(a.validationLoss == nil, b.validationLoss == nil)
            XCTAssertEqual(a.validationLoss ?? 0, b.validationLoss ?? 0, accuracy: 1e-6, "step \(a.step)")
        }

        let modified = try FileManager.default.attributesOfItem(atPath: cacheURL.path)[.modificationDate] as? Date
        config.reference.mode = .cached
        let again = try train(config, run: "again")
        XCTAssertTrue(again.notes.contains { $0.contains("reused \(cacheURL.path)") }, "\(again.notes)")
        XCTAssertEqual(
            try FileManager.default.attributesOfItem(atPath: cacheURL.path)[.modificationDate] as? Date, modified)
        XCTAssertEqual(again.steps.map(\.loss), cached.steps.map(\.loss), "the same numbers from the file")

        _ = try writePairs(Self.subjects + ["button"])
        config.train.steps = 1
        let changed = try train(config, run: "changed-data")
        XCTAssertTrue(changed.notes.contains { $0.contains("computed") }, "\(changed.notes)")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: cacheFolder.path).filter {
                $0.hasPrefix("pairs.jsonl.ref-logprobs-")
            }.count, 2)
    }

    /// A micro-batch of one pair and one of three give the gradients and loss of one batch of
    /// four: each micro-batch's mean is weighed by its share of the pairs.
    func testAccumulationWeighsEveryPairEqually() throws {
        let folder = try ChatModelFolder(url: makeModel())
        let policy = try folder.loadModel(device: TestDevices.openCL.get())
        var pairs = Array(
            try DPOStage.pairs(from: writePairs(), encoder: folder.encoder, limits: ChatLengthLimits(), emit: { _ in })[
                0..<4])
        // The lone pair is turned around, so its gradient opposes the others' and any mis-weighing shows.
        pairs[0] = DPOStage.EncodedPair(index: 0, chosen: pairs[0].rejected, rejected: pairs[0].chosen)
        let padID = folder.padID(config: policy.config)
        let objective = PreferenceObjective(.dpo(DPOLoss(beta: 0.5), referenceFree: true), chosenNLLWeight: 0.5)
        func gradients(_ microBatches: [[DPOStage.EncodedPair]]) throws -> (Double, [Float]) {
            try policy.parameters.zeroGrad()
            let (summary, _) = try DPOStage.accumulate(microBatches) {
                try DPOStage.preferenceLoss(objective, policy: policy, reference: .none, pairs: $0, padID: padID)
            }
            return (summary.loss, try policy.parameters.device.readFloats(policy.parameters.gradients))
        }
        let (wholeLoss, whole) = try gradients([pairs])
        let (splitLoss, split) = try gradients([[pairs[0]], Array(pairs[1...])])
        XCTAssertEqual(splitLoss, wholeLoss, accuracy: 1e-6)
        XCTAssertNil(Tolerance(absolute: 1e-6, relative: 1e-4).firstMismatch(split, whole))
    }

    /// Interrupted after step 3 (between checkpoints) and resumed: the same final bits.
    func testInterruptedRunResumesToIdenticalWeights() throws {
        let config = config(model: try makeModel(), data: try writePairs(), steps: 4)
        let straight = try train(config, run: "straight")
        let stopped = try train(config, run: "interrupted", interruptAfter: 3)
        XCTAssertNil(stopped.final)
        interruption = Interruption()
        let resumed = try train(config, run: "interrupted", existing: .resume)
        guard
            case .started(_, _, _, _, let resumedAt) = resumed.events.first(where: {
                if case .started = $0 { true } else { false }
            })
        else {
            return XCTFail("no start event")
        }
        XCTAssertEqual(resumedAt, 3)
        XCTAssertTrue(resumed.notes.contains { $0.contains("reused") }, "the resumed run reads the cache")
        XCTAssertEqual(try weights(resumed.final), try weights(straight.final), "bit-identical final weights")
    }

    /// The shipped recipe reads, and names a valid loss and reference.
    func testRecipeReads() throws {
        let recipe = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("configs/tiny-world-dpo.yaml")
        let config = try ConfigLoader.load(DPOConfig.self, from: recipe)
        XCTAssertEqual(config.reference.mode, .cached)
        XCTAssertTrue(try config.loss.objective(referenceFree: false).needsReference)
        XCTAssertEqual(config.data.path, "runs/tiny-world-data/world/preferences.jsonl")
    }

    /// Bad data and settings are errors that say where and what to do.
    func testBadInputIsNamed() throws {
        let model = try makeModel()
        let broken = root.appendingPathComponent("broken.jsonl")
        try (Self.pairLine("apple") + "\n" + #"{"prompt": "Hi?", "chosen": "Hello."}"# + "\n").write(
            to: broken, atomically: true, encoding: .utf8)
        func error(_ change: (inout DPOConfig) -> Void) -> String {
            var config = config(model: model, data: broken)
            change(&config)
            do {
                _ = try train(config, run: "bad-\(UUID().uuidString)")
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        let missing = error { _ in }
        XCTAssertTrue(missing.contains("broken.jsonl:2") && missing.contains("rejected"), missing)
        let conservative = error { $0.loss.type = .conservative }
        XCTAssertTrue(conservative.contains("'loss.label_smoothing'"), conservative)
        let long = try writePairs(
            Self.subjects + [String(repeating: "very ", count: 40) + "long thing"], name: "long.jsonl")
        let tooLong = error {
            $0.data.path = long.path
            $0.data.maxLength = 0
        }
        XCTAssertTrue(
            tooLong.contains("'data.max_length' is 0 (no limit)") && tooLong.contains("the model has 64 positions"),
            tooLong)
        let tooShort = error {
            $0.data.path = long.path
            $0.data.maxLength = 5
        }
        XCTAssertTrue(tooShort.contains("no preference pair that fits max_length 5"), tooShort)
        let empty = error { $0.model.initFrom = "" }
        XCTAssertTrue(empty.contains("'model.init_from' is empty"), empty)
        let absent = error { $0.model.initFrom = self.root.appendingPathComponent("nowhere").path }
        XCTAssertTrue(
            absent.contains("'model.init_from'") && absent.contains("nowhere") && absent.contains("not a model folder"),
            absent)
    }
}
