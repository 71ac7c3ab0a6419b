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
        try writeFile(
            """
            model:\n  hidden_size: 16\n  layers: 1\n  heads: 2\n  max_positions: 32
            data:\n  tiny_world: \(root.appendingPathComponent("world").path)\n  tiny_world_size: smoke\n  vocab_size: 300
            train:\n  batch_size: 2\n  sequence_length: 16\n  steps: \(steps)\n  eval_every: 0\n  checkpoint_every: 100000
            """, named: "run.yaml", in: root)
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
}
