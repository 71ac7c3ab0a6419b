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

/// The SFT stage on a tiny chat model: the assistant-only loss falls on a small set of chats,
/// the saved model stops at the end-of-turn token, a resumed run ends bit-identical, and bad
/// input is named.
final class SFTStageTests: XCTestCase {
    /// What the runs of a test answer; a test requests it to interrupt a run at a chosen step.
    private var interruption = Interruption()
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("sft")
    }

    override func tearDown() {
        interruption = Interruption()
    }

    /// Conversations with and without a system prompt, in both SFT formats.
    private static func chatLines() -> [String] {
        TinyChatModel.subjects.flatMap { subject in
            [
                #"{"messages": [{"role": "user", "content": "What is the \#(subject)?"}, {"role": "assistant", "content": "The \#(subject) is good."}]}"#,
                #"{"messages": [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "What is the \#(subject)?"}, {"role": "assistant", "content": "Good."}]}"#,
                #"{"prompt": "Tell me about the \#(subject).", "completion": "The \#(subject) is good."}"#,
            ]
        }
    }

    private func config(steps: Int) throws -> SFTConfig {
        var config = SFTConfig()
        config.model.initFrom = try TinyChatModel.make(at: root.appendingPathComponent("base")).path
        config.data.path = try TinyChatModel.write(Self.chatLines(), to: root, name: "sft.jsonl").path
        config.data.heldoutFraction = 0.2
        config.data.maxLength = 64
        config.train = LoopSettings(
            steps: steps, batchSize: 4, gradientAccumulation: 2, evalEvery: 5, checkpointEvery: 4, seed: 3)
        config.optim.learningRate = 1e-2
        config.optim.warmupSteps = 2
        return config
    }

    private func train(
        _ config: SFTConfig, _ name: String, existing: RunDirectory.Existing = .refuse,
        onEvent: @escaping (TrainingEvent) -> Void = { _ in }
    ) throws -> (URL?, [StepMetrics]) {
        var steps: [StepMetrics] = []
        let url = try SFTStage(
            config: config, run: RunDirectory(url: root.appendingPathComponent(name), existing: existing),
            device: TestDevices.openCL.get(), interruption: interruption
        ) { event in
            if case .step(let metrics) = event { steps.append(metrics) }
            onEvent(event)
        }.train()
        return (url, steps)
    }

    func testAssistantLossFallsAndTheModelLearnsToEndItsTurn() throws {
        let (final, steps) = try train(config(steps: 80), "run")
        let url = try XCTUnwrap(final)
        let validation = steps.compactMap(\.validationLoss)
        XCTAssertEqual(validation.count, 16)
        XCTAssertLessThan(validation.last!, validation.first! * 0.6, "held-out loss falls: \(validation)")
        XCTAssertLessThan(steps.last!.loss, steps.first!.loss * 0.5)

        // The saved chat model lists the end-of-turn token among its eos ids and stops there.
        let folder = try ChatModelFolder(url: url)
        let model = try folder.loadModel(device: TestDevices.openCL.get(), trainable: false)
        XCTAssertTrue(model.config.eosTokenIDs.contains(folder.encoder.endOfTurnID))
        var session = ChatSession(model: model, encoder: folder.encoder, options: GenerationOptions(maxNewTokens: 12))
        let reply = try session.reply(to: "What is the owl?")
        XCTAssertEqual(reply.stopReason, .endOfSequence, "answered '\(reply.text)' without ending its turn")
        XCTAssertEqual(reply.text, "The owl is good.")
        XCTAssertTrue(FileManager.default.fileExists(atPath: url.appendingPathComponent("tokenizer_config.json").path))
    }

    func testTheLossCoversOnlyAssistantTokens() throws {
        let folder = try ChatModelFolder(url: TinyChatModel.make(at: root.appendingPathComponent("base")))
        let url = try TinyChatModel.write(Self.chatLines(), to: root, name: "sft.jsonl")
        let examples = try ChatExamples.read(url, encoder: folder.encoder, limits: ChatLengthLimits(), emit: { _ in })
        let batch = ChatExamples.batch(Array(examples.prefix(3)), padID: 0)
        for (row, example) in examples.prefix(3).enumerated() {
            let targets = batch.targets[(row * batch.sequenceLength)..<(row * batch.sequenceLength + example.ids.count)]
            let trained = targets.filter { $0 != GradientAccumulation.ignoreIndex }.map(Int.init)
            let answer = folder.tokenizer.decode(trained)
            XCTAssertTrue(answer.hasSuffix("<|im_end|>"), "the end-of-turn token is trained: \(answer)")
            XCTAssertFalse(answer.contains("user"), "no prompt token is trained: \(answer)")
        }
    }

    func testInterruptedRunResumesToIdenticalWeights() throws {
        let config = try config(steps: 10)
        _ = try train(config, "straight")
        let (stopped, _) = try train(config, "interrupted") { event in
            if case .step(let metrics) = event, metrics.step == 6 { self.interruption.request() }
        }
        XCTAssertNil(stopped, "an interrupted run returns no model")
        XCTAssertNotNil(TrainerCheckpoint.latest(in: root.appendingPathComponent("interrupted")))
        interruption = Interruption()
        let (resumed, steps) = try train(config, "interrupted", existing: .resume)
        XCTAssertNotNil(resumed)
        XCTAssertEqual(steps.first?.step, 7, "resumes after the checkpoint written at the interruption")
        let weights = { (name: String) in
            try Data(contentsOf: self.root.appendingPathComponent("\(name)/final/model.safetensors"))
        }
        XCTAssertEqual(try weights("interrupted"), try weights("straight"), "bit-identical final weights")
    }

    /// SFT with LoRA: the held-out loss falls; checkpoints and `final/` hold the adapters alone
    /// (PEFT layout, base named); the merged export gives the adapter's loss; resuming is bit-identical.
    func testLoRATrainsOnlyTheAdapters() throws {
        var config = try config(steps: 10)
        config.lora = LoRASettings(r: 4, alpha: 8, targetModules: .allLinear)
        let (final, steps) = try train(config, "lora")
        let url = try XCTUnwrap(final)
        let validation = steps.compactMap(\.validationLoss)
        XCTAssertLessThan(validation.last!, validation.first!, "held-out loss falls: \(validation)")
        let adapter = try PEFTAdapter(folder: url)
        XCTAssertEqual(
            URL(fileURLWithPath: adapter.config.baseModel).standardizedFileURL.path,
            URL(fileURLWithPath: config.model.initFrom).standardizedFileURL.path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.appendingPathComponent("model.safetensors").path))
        let checkpoint = try XCTUnwrap(TrainerCheckpoint.latest(in: root.appendingPathComponent("lora")))
        let saved = try SafetensorsFile(contentsOf: checkpoint.appendingPathComponent("model.safetensors")).names
        XCTAssertTrue(
            !saved.isEmpty && saved.allSatisfy(LoRAAdapters.isAdapterParameter),
            "checkpoints hold the adapters: \(saved)")

        // The merged export scores the held-out chats as base + adapter does.
        let device = try TestDevices.openCL.get()
        let merged = root.appendingPathComponent("merged")
        _ = try ModelExport.huggingFace(from: url, to: merged, dtype: nil, mergeLoRA: true, device: device)
        let folder = try ChatModelFolder(url: url)
        let examples = try ChatExamples.read(
            URL(fileURLWithPath: config.data.path), encoder: folder.encoder,
            limits: config.data.limits, emit: { _ in })
        let padID = folder.padID(config: try ModelConfig(contentsOf: merged.appendingPathComponent("config.json")))
        let loss = { (model: LanguageModel) in
            try Tensor.withNoGrad { try ChatExamples.meanLoss(model, examples, padID: padID, batchSize: 8) }
        }
        let adapted = try ModelFolder.load(url, device: device, trainable: false, mergeAdapter: false).model
        XCTAssertNotNil(adapted.adapters)
        XCTAssertEqual(
            try loss(ModelFolder.load(merged, device: device, trainable: false).model), try loss(adapted),
            accuracy: 1e-4)

        let (stopped, _) = try train(config, "lora-interrupted") { event in
            if case .step(let metrics) = event, metrics.step == 5 { self.interruption.request() }
        }
        XCTAssertNil(stopped)
        interruption = Interruption()
        let (resumed, _) = try train(config, "lora-interrupted", existing: .resume)
        let adapterBytes = { (folder: URL?) in
            try Data(contentsOf: XCTUnwrap(folder).appendingPathComponent(PEFTAdapter.weightsFileName))
        }
        XCTAssertEqual(try adapterBytes(resumed), try adapterBytes(url), "bit-identical adapters after resuming")
    }

    /// Live check against PEFT and transformers on an adapter trained in the test: PEFT loads
    /// `final/` onto the base and gives the loss gputrain gives for base + adapter, and
    /// transformers gives the same for the merged export. Skipped without a Python that has
    /// torch, transformers and peft (set GPUTRAIN_PYTHON).
    func testPEFTLoadsTheAdapterWithTheSameLoss() throws {
        let python = try PythonRunner.require(["torch", "transformers", "peft"])
        var config = try config(steps: 6)
        config.lora = LoRASettings(r: 4, alpha: 8, targetModules: .names(["q_proj", "v_proj", "down_proj"]))
        let adapter = try XCTUnwrap(try train(config, "lora-live").0)
        let merged = root.appendingPathComponent("merged")
        let device = TestDevices.reference()
        _ = try ModelExport.huggingFace(from: adapter, to: merged, dtype: nil, mergeLoRA: true, device: device)
        let ids = try ChatModelFolder(url: adapter).encoder.encode([
            .user("What is the owl?"), .assistant("The owl is good."),
        ]).ids.map(Int32.init)
        let loss = try meanLoss(
            of: ModelFolder.load(adapter, device: device, trainable: false, mergeAdapter: false).model, ids: ids)
        let result = try PythonRunner.run(
            python,
            [
                "-c",
                """
                import sys, torch
                from transformers import AutoModelForCausalLM
                from peft import PeftModel
                base, adapter, merged, ids = sys.argv[1], sys.argv[2], sys.argv[3], [int(i) for i in sys.argv[4].split(",")]
                x = torch.tensor([ids])
                with torch.no_grad():
                    peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32), adapter).eval()
                    full = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32).eval()
                    print(peft(input_ids=x, labels=x).loss.item(), full(input_ids=x, labels=x).loss.item())
                """, config.model.initFrom, adapter.path, merged.path, ids.map(String.init).joined(separator: ","),
            ])
        XCTAssertEqual(result.status, 0, result.output)
        let losses = try XCTUnwrap(result.output.split(separator: "\n").last).split(separator: " ").compactMap {
            Double($0)
        }
        XCTAssertEqual(losses.count, 2, result.output)
        for (name, value) in zip(["PEFT base + adapter", "transformers on the merged export"], losses) {
            XCTAssertEqual(value, Double(loss), accuracy: 1e-4 * Double(loss), name)
        }
    }

    /// The shipped LoRA recipe reads, with LoRA on every projection.
    func testLoRARecipeReads() throws {
        let recipe = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("configs/tiny-world-sft-lora.yaml")
        let config = try ConfigLoader.load(SFTConfig.self, from: recipe)
        XCTAssertEqual(config.lora, LoRASettings(r: 16, alpha: 32, dropout: 0.05, targetModules: .allLinear))
        XCTAssertNil(config.lora.problem)
        XCTAssertThrowsError(try ConfigLoader.load(SFTConfig.self, from: recipe, overrides: ["lora.rank=4"])) { error in
            XCTAssertTrue("\(error)".contains("unknown key 'lora.rank'"), "\(error)")
        }
    }

    func testBadInputIsNamed() throws {
        var config = try config(steps: 2)
        config.data.path = try TinyChatModel.write(
            [Self.chatLines()[0], #"{"messages": [{"role": "user", "content": "Hi"}]}"#],
            to: root, name: "bad.jsonl"
        ).path
        XCTAssertThrowsError(try train(config, "no-assistant")) { error in
            XCTAssertTrue("\(error)".contains("bad.jsonl:2"), "\(error)")
            XCTAssertTrue("\(error)".contains("no assistant turn"), "\(error)")
        }
        config = try self.config(steps: 2)
        config.model.initFrom = root.appendingPathComponent("missing").path
        XCTAssertThrowsError(try train(config, "missing-model")) { error in
            XCTAssertTrue("\(error)".contains("model.init_from"), "\(error)")
            XCTAssertTrue("\(error)".contains("not a model folder"), "\(error)")
        }
    }
}
