import Foundation
import TestSupport
import XCTest

/// A run folder survives what happens to runs: a second writer is refused while the first
/// holds the folder, and SIGTERM (what schedulers and `docker stop` send) stops a run the way
/// Ctrl-C does, with a checkpoint that `--resume` continues.
final class RunFolderSafetyTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("run-folder-safety")
    }

    private func recipe(steps: Int) throws -> URL {
        try SmokeRecipe.pretrain(
            in: root, named: "run.yaml", world: root.appendingPathComponent("world"), steps: steps,
            checkpointEvery: 100_000)
    }

    /// Starts `gputrain` with `arguments` and `--json`, and returns once it has reported step
    /// `step` (its events go to a file that is polled, so no pipe ever fills and blocks it).
    private func start(_ arguments: [String], untilStep step: Int) throws -> Process {
        let events = root.appendingPathComponent("events-\(UUID().uuidString).jsonl")
        FileManager.default.createFile(atPath: events.path, contents: nil)
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = arguments + ["--json"]
        process.standardOutput = try FileHandle(forWritingTo: events)
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while !(try String(contentsOf: events, encoding: .utf8)).contains("\"step\":\(step),") {
            guard process.isRunning, Date() < deadline else {
                process.terminate()
                XCTFail("step \(step) was not reported: \(try String(contentsOf: events, encoding: .utf8))")
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return process
    }

    func testASecondWriterIsRefusedWithTheHoldersPid() throws {
        let run = root.appendingPathComponent("busy")
        let recipe = try recipe(steps: 100_000)
        let first = try start(["pretrain", "--config", recipe.path, "--out", run.path], untilStep: 1)
        defer {
            first.terminate()
            first.waitUntilExit()
        }
        for flag in ["--resume", "--overwrite"] {
            let second = try CommandRunner.run(["pretrain", "--config", recipe.path, "--out", run.path, flag])
            XCTAssertNotEqual(second.status, 0, flag)
            XCTAssertTrue(
                second.standardError.contains("in use by another gputrain process (pid \(first.processIdentifier))"),
                "\(flag): \(second.standardError)")
        }
        XCTAssertTrue(first.isRunning, "the first run goes on")
    }

    func testSIGTERMCheckpointsAndResumeFinishes() throws {
        let run = root.appendingPathComponent("terminated")
        let recipe = try recipe(steps: 2000)
        let process = try start(["pretrain", "--config", recipe.path, "--out", run.path], untilStep: 2)
        process.terminate()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130)
        let checkpoints = try FileManager.default.contentsOfDirectory(
            atPath: run.appendingPathComponent("checkpoints").path
        ).filter { $0.hasPrefix("step-") }
        XCTAssertEqual(checkpoints.count, 1, "one checkpoint, written on SIGTERM")
        let resumed = try CommandRunner.run([
            "pretrain", "--config", recipe.path, "--out", run.path, "--resume", "--set",
            "train.steps=\(Int(checkpoints[0].dropFirst(5))! + 2)",
        ])
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
    }

    private func checkpointSteps(_ run: URL) throws -> [Int] {
        try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints").path)
            .compactMap { $0.hasPrefix("step-") ? Int($0.dropFirst(5)) : nil }.sorted()
    }

    func testOnlyTheNewestCheckpointsAreKept() throws {
        let run = root.appendingPathComponent("retention")
        let result = try CommandRunner.run([
            "pretrain", "--config", try recipe(steps: 8).path, "--out", run.path, "--set", "train.checkpoint_every=1",
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(try checkpointSteps(run), [6, 7, 8], "train.keep_checkpoints defaults to 3")

        let all = root.appendingPathComponent("retention-all")
        let kept = try CommandRunner.run([
            "pretrain", "--config", try recipe(steps: 4).path, "--out", all.path, "--set", "train.checkpoint_every=1",
            "--set", "train.keep_checkpoints=0",
        ])
        XCTAssertEqual(kept.status, 0, kept.standardError)
        XCTAssertEqual(try checkpointSteps(all), [1, 2, 3, 4])
    }

    func testKeepBestKeepsTheLowestValidationLoss() throws {
        let run = root.appendingPathComponent("best")
        let result = try CommandRunner.run([
            "pretrain", "--config", try recipe(steps: 6).path, "--out", run.path, "--set", "train.checkpoint_every=1",
            "--set", "train.eval_every=1", "--set", "train.keep_checkpoints=1", "--set", "train.keep_best=true",
            "--set", "optim.learning_rate=0.3", "--set", "optim.warmup_steps=0",
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        let losses = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { line -> (Int, Double) in
                let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return (try XCTUnwrap(object["step"] as? Int), try XCTUnwrap(object["val_loss"] as? Double))
            }
        let best = try XCTUnwrap(losses.min { $0.1 < $1.1 }).0
        XCTAssertEqual(try checkpointSteps(run), Array(Set([best, 6])).sorted())
    }

    func testResumeDropsAHalfWrittenMetricsLine() throws {
        let run = root.appendingPathComponent("half-line")
        let recipe = try recipe(steps: 3)
        let first = try CommandRunner.run([
            "pretrain", "--config", recipe.path, "--out", run.path, "--set", "train.checkpoint_every=2",
        ])
        XCTAssertEqual(first.status, 0, first.standardError)
        // As a kill or a full disk would leave it: the final step's line half written, no final/.
        let metrics = run.appendingPathComponent("metrics.jsonl")
        var text = try String(contentsOf: metrics, encoding: .utf8)
        text += "{\"step\":4,\"loss\":1."
        try text.write(to: metrics, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: run.appendingPathComponent("checkpoints/step-3"))
        let resumed = try CommandRunner.run(["pretrain", "--config", recipe.path, "--out", run.path, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        let steps = try String(contentsOf: metrics, encoding: .utf8).split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])["step"] as? Int
        }
        XCTAssertEqual(steps, [1, 2, 3], "each step exactly once")
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent(".final.partial").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("final/config.json").path))
    }

    func testResumingWithChangedOptimisationIsRefusedUnlessAllowed() throws {
        let run = root.appendingPathComponent("changed")
        let recipe = try recipe(steps: 2)
        let first = try CommandRunner.run(["pretrain", "--config", recipe.path, "--out", run.path])
        XCTAssertEqual(first.status, 0, first.standardError)
        let longer = ["pretrain", "--config", recipe.path, "--out", run.path, "--resume", "--set", "train.steps=3"]
        let refused = try CommandRunner.run(
            longer + ["--set", "optim.learning_rate=0.5", "--set", "train.batch_size=4"])
        XCTAssertNotEqual(refused.status, 0)
        for fragment in [
            "optim.learning_rate: 1e-3 → 5e-1", "global batch (train.batch_size × train.gradient_accumulation): 2 → 4",
            "--allow-changed optim.learning_rate", "--allow-changed train.batch_size",
        ] {
            XCTAssertTrue(refused.standardError.contains(fragment), "\(fragment): \(refused.standardError)")
        }
        let allowed = try CommandRunner.run(
            longer + ["--set", "optim.learning_rate=0.5", "--allow-changed", "optim"])
        XCTAssertEqual(allowed.status, 0, allowed.standardError)
        let log = try String(contentsOf: run.appendingPathComponent("changes.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("resumed from step-2 with optim.learning_rate: 1e-3 → 5e-1"), log)
        let growing = try CommandRunner.run(longer.dropLast() + ["train.steps=4", "--set", "optim.learning_rate=0.5"])
        XCTAssertEqual(growing.status, 0, "train.steps grows freely: \(growing.standardError)")
    }

    func testADamagedLatestCheckpointFallsBackToTheOneBefore() throws {
        let recipe = try recipe(steps: 3)
        let straight = root.appendingPathComponent("undamaged")
        let reference = try CommandRunner.run([
            "pretrain", "--config", recipe.path, "--out", straight.path, "--set", "train.steps=4",
        ])
        XCTAssertEqual(reference.status, 0, reference.standardError)
        let run = root.appendingPathComponent("damaged")
        let first = try CommandRunner.run([
            "pretrain", "--config", recipe.path, "--out", run.path, "--set", "train.checkpoint_every=1",
        ])
        XCTAssertEqual(first.status, 0, first.standardError)
        // One flipped bit in the middle of the newest checkpoint's weights: same size, still parses.
        let weights = run.appendingPathComponent("checkpoints/step-3/model.safetensors")
        var bytes = try Data(contentsOf: weights)
        bytes[bytes.count - 100] ^= 0x01
        try bytes.write(to: weights)
        let resumed = try CommandRunner.run([
            "pretrain", "--config", recipe.path, "--out", run.path, "--resume", "--set", "train.steps=4",
        ])
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        XCTAssertTrue(
            resumed.standardError.contains("checkpoint step-3 is damaged"), resumed.standardError)
        XCTAssertTrue(resumed.standardError.contains("resuming at step 2"), resumed.standardError)
        XCTAssertEqual(
            try Data(contentsOf: run.appendingPathComponent("final/model.safetensors")),
            try Data(contentsOf: straight.appendingPathComponent("final/model.safetensors")))
    }
}
