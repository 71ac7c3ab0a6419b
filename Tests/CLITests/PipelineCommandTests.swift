import Foundation
import TestSupport
import XCTest

/// `gputrain pipeline --config smoke`: the README's main command at toy sizes, every stage, so
/// the main job cannot break silently. It runs in a folder outside the repository with the
/// built-in recipe, as a user with the binary on their PATH would.
final class PipelineCommandTests: XCTestCase {
    private var out: URL!

    override func setUp() {
        out = FileManager.default.temporaryDirectory.appendingPathComponent("cli-pipeline-\(getpid())")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: out)
    }

    private func pipeline(_ extra: [String] = []) throws -> CommandRunner.Result {
        try CommandRunner.run(
            ["pipeline", "--config", "smoke", "--out", out.path] + extra,
            in: FileManager.default.temporaryDirectory)
    }

    func testSmokePipelineRunsEveryStageAndReports() throws {
        let result = try pipeline()
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.contains("report: \(out.path)/report.md"), result.standardOutput)

        let report = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json")))
                as? [String: Any])
        XCTAssertEqual(Set(report.keys), ["models", "reward_model", "seconds", "preferences_source"])
        XCTAssertEqual(report["preferences_source"] as? String, "generated")
        let models = try XCTUnwrap(report["models"] as? [String: [String: Any]])
        XCTAssertEqual(Set(models.keys), ["base", "sft", "dpo", "ppo"])
        let figures: Set = [
            "answer_rate", "accuracy", "accuracy_pretrain_only", "judge_score", "judge", "reward", "mean_length",
            "kl_to_sft",
        ]
        for (name, card) in models {
            XCTAssertEqual(Set(card.keys), figures, name)
            for key in ["answer_rate", "accuracy", "judge_score"] {
                let value = try XCTUnwrap(card[key] as? Double, "\(name).\(key)")
                XCTAssertTrue((0...1).contains(value), "\(name).\(key) = \(value)")
            }
            XCTAssertNotNil(card["reward"] as? Double, "\(name) is scored by the reward model")
        }
        XCTAssertTrue(models["base"]!["kl_to_sft"] is NSNull)
        XCTAssertEqual(models["sft"]!["kl_to_sft"] as? Double, 0)
        let rewardModel = try XCTUnwrap(report["reward_model"] as? [String: Any])
        XCTAssertNotNil(rewardModel["heldout_accuracy"] as? Double)
        XCTAssertFalse(try XCTUnwrap(rewardModel["heldout_accuracy_by_kind"] as? [String: Double]).isEmpty)
        let seconds = try XCTUnwrap(report["seconds"] as? [String: Any])
        for stage in ["data", "tokenizer", "pretrain", "sft", "reward", "dpo", "ppo", "eval"] {
            XCTAssertNotNil(seconds[stage] as? Double, "seconds.\(stage)")
        }
        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("plots/sft.svg"), markdown)
        for stage in ["pretrain", "sft", "reward", "dpo", "ppo"] {
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: out.appendingPathComponent("plots/\(stage).svg").path), stage)
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: out.appendingPathComponent("\(stage)/final/config.json").path),
                stage)
        }

        try checkChatCommands(
            model: out.appendingPathComponent("sft/final"), data: out.appendingPathComponent("data/world"))

        // Run again: an existing run is refused without a flag, and --resume skips what finished.
        let refused = try pipeline()
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.standardError.contains("--resume"), refused.standardError)
        let resumed = try pipeline(["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        for stage in ["pretrain", "sft", "reward", "dpo", "ppo", "eval"] {
            XCTAssertTrue(resumed.standardError.contains("\(stage): finished earlier, skipped"), resumed.standardError)
        }
    }

    /// `data inspect`, `generate --system` and `chat` on the pipeline's SFT model.
    private func checkChatCommands(model: URL, data: URL) throws {
        let inspect = try CommandRunner.run([
            "data", "inspect", "--model", model.path, "--data", data.appendingPathComponent("sft.jsonl").path,
            "--n", "2",
        ])
        XCTAssertEqual(inspect.status, 0, inspect.standardError)
        XCTAssertEqual(
            inspect.standardOutput.components(separatedBy: "── conversation").count - 1, 2, inspect.standardOutput)
        XCTAssertTrue(
            inspect.standardOutput.contains("<|im_end|>]]"),
            "the end-of-turn token is trained: \(inspect.standardOutput)")
        XCTAssertFalse(inspect.standardOutput.contains("[[<|im_start|>"), inspect.standardOutput)
        let pairs = try CommandRunner.run([
            "data", "inspect", "--model", model.path, "--data",
            data.appendingPathComponent("preferences.jsonl").path, "--n", "1",
        ])
        XCTAssertTrue(
            pairs.standardOutput.contains("pair 1 chosen") && pairs.standardOutput.contains("pair 1 rejected"),
            pairs.standardOutput)

        let generate = try CommandRunner.run([
            "generate", "--model", model.path, "--prompt", "What is 2 + 3?", "--system",
            "Answer in one word.", "--max-tokens", "6", "--temperature", "0",
        ])
        XCTAssertEqual(generate.status, 0, generate.standardError)
        XCTAssertFalse(
            generate.standardOutput.contains("<|im_start|>"), "only the answer is printed: \(generate.standardOutput)")

        let chat = try CommandRunner.run(
            ["chat", "--model", model.path, "--system", "Answer in one word.", "--max-tokens", "6"],
            input: "What is 2 + 3?\n/reset\nWhere does the fox live?\n/quit\n")
        XCTAssertEqual(chat.status, 0, chat.standardError)
        XCTAssertFalse(chat.standardOutput.isEmpty)
        XCTAssertFalse(chat.standardOutput.contains("<|im_start|>"), chat.standardOutput)
        // chat takes generate's sampling options, checked the same way.
        let sampled = try CommandRunner.run(
            [
                "chat", "--model", model.path, "--temperature", "0.8", "--top-k", "5",
                "--repetition-penalty", "1.2", "--seed", "3", "--max-tokens", "6",
            ], input: "What is 2 + 3?\n")
        XCTAssertEqual(sampled.status, 0, sampled.standardError)
        let bad = try CommandRunner.run(["chat", "--model", model.path, "--top-k", "0"], input: "")
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.standardError.contains("top-k 0 must be at least 1"), bad.standardError)
    }

    /// LoRA in every post-training stage of the pipeline: each stage saves a PEFT adapter whose
    /// base is the model it started from (merged into `<final>-base/` when that is an adapter too),
    /// and the evaluation loads them all. PPO also runs with ptx, on the world's SFT chats.
    func testSmokePipelineWithLoRAInEveryStage() throws {
        let lora = ["sft", "reward", "dpo", "ppo"].flatMap {
            ["--set", "\($0).lora.r=4", "--set", "\($0).lora.target_modules=all-linear"]
        }
        // The preferences come from AI feedback here: the SFT model's answers, labelled by the judge.
        let constitution = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs/constitutions/tiny-world.yaml")
        let feedback = [
            "--set", "preferences.source=ai", "--set", "preferences.constitution=\(constitution.path)",
            "--set", "preferences.feedback_model=judge",
        ]
        let result = try pipeline(lora + feedback + ["--set", "ppo.ptx_coef=0.5"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let labels = try String(
            contentsOf: out.appendingPathComponent("preferences/ai-labels.jsonl"), encoding: .utf8)
        XCTAssertTrue(labels.contains("chosen_probability"), labels)
        let report = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("report.json")))
                as? [String: Any])
        XCTAssertEqual(report["preferences_source"] as? String, "ai")
        let ppoMetrics = try String(contentsOf: out.appendingPathComponent("ppo/metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(ppoMetrics.contains("ptx_avg"), "PPO-ptx found the world's sft.jsonl")
        for stage in ["sft", "reward", "dpo", "ppo", "ppo/value"] {
            let folder = out.appendingPathComponent(stage == "ppo/value" ? stage : "\(stage)/final")
            let config = try XCTUnwrap(
                JSONSerialization.jsonObject(
                    with: Data(contentsOf: folder.appendingPathComponent("adapter_config.json")))
                    as? [String: Any], stage)
            let base = try XCTUnwrap(config["base_model_name_or_path"] as? String)
            XCTAssertTrue(FileManager.default.fileExists(atPath: base + "/config.json"), "\(stage): base \(base)")
            XCTAssertEqual(
                config["task_type"] as? String, stage == "reward" || stage == "ppo/value" ? "SEQ_CLS" : "CAUSAL_LM")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("report.json").path))
    }

    func testALoRATargetThatMatchesNoModuleIsAClearError() throws {
        let result = try pipeline(["--set", "sft.lora.r=4", "--set", "sft.lora.target_modules=[q_proj, qkv]"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(
            result.standardError.contains("'lora.target_modules' entry [\"qkv\"] matches no module"),
            result.standardError)
        XCTAssertTrue(
            result.standardError.contains("q_proj"), "names the projections there are: \(result.standardError)")
    }

    /// Ctrl-C during a stage writes a checkpoint and exits with 130; `--resume` skips the
    /// finished stages and continues that one from its checkpoint to the end.
    func testCtrlCCheckpointsAndResumeContinues() throws {
        let steps = ["--set", "sft.train.steps=400", "--set", "sft.train.checkpoint_every=1000"]
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = ["pipeline", "--config", "smoke", "--out", out.path] + steps
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let printed = PrintedText()
        errors.fileHandleForReading.readabilityHandler = { printed.append($0.availableData) }
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        func seen(_ text: String) -> Bool { printed.text.contains(text) }
        while !seen("step 5/400"), process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertTrue(seen("step 5/400"), "SFT started")
        process.interrupt()
        process.waitUntilExit()
        errors.fileHandleForReading.readabilityHandler = nil
        XCTAssertEqual(process.terminationStatus, 130, printed.text)
        XCTAssertTrue(seen("resume with --resume"), printed.text)
        let checkpoints = try FileManager.default.contentsOfDirectory(
            atPath: out.appendingPathComponent("sft/checkpoints").path)
        XCTAssertEqual(
            checkpoints.filter { $0.hasPrefix("step-") }.count, 1, "the interruption wrote a checkpoint: \(checkpoints)"
        )

        let resumed = try pipeline(["--resume"] + steps)
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        XCTAssertTrue(resumed.standardError.contains("pretrain: finished earlier, skipped"), resumed.standardError)
        XCTAssertTrue(resumed.standardError.contains("resuming at step"), resumed.standardError)
        XCTAssertTrue(resumed.standardError.contains("step 400/400"), resumed.standardError)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("report.json").path))
    }

    func testUnknownStageIsAClearError() throws {
        let result = try pipeline(["--set", "stages=[sft, rlhf]"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(
            result.standardError.contains("'stages[1]' must be one of sft, reward, dpo, ppo, grpo, got 'rlhf'"),
            result.standardError)
    }
}

/// What a running child has printed so far, appended from the pipe's reading thread.
private final class PrintedText: @unchecked Sendable {
    private let lock = NSLock()
    private var collected = ""

    func append(_ data: Data) {
        lock.lock()
        collected += String(decoding: data, as: UTF8.self)
        lock.unlock()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }
}
