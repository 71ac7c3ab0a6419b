import Foundation
import TestSupport
import XCTest

/// kill -9 at random moments (seeded delays within the length of an uninterrupted run) of short
/// runs, a pretraining and a LoRA SFT, each until 20 kills have landed: a kill may land in a
/// step, a checkpoint write or the `final/` write (also of a run already finished, which a
/// resume writes again). Each time the run is started again with `--resume`,
/// and in the end its final weights equal, bit for bit, those of a run never killed, and
/// `metrics.jsonl` holds each step exactly once.
final class KillResumeTests: XCTestCase {
    private var root: URL!
    private static let kills = 20

    override func setUpWithError() throws {
        root = try makeScratchFolder("kill-resume")
    }

    /// Runs `arguments` to the end without interruption; returns the seconds it took.
    private func straight(_ arguments: [String]) throws -> Double {
        let started = Date()
        let result = try CommandRunner.run(arguments)
        XCTAssertEqual(result.status, 0, result.standardError)
        return Date().timeIntervalSince(started)
    }

    /// Runs `arguments` into `run` (with `--resume` once the folder exists), killing it with
    /// SIGKILL after a random delay below `window` seconds until `kills` kills have landed in a
    /// running process, then lets it finish. A start that ends before its kill shows how long a
    /// start now takes (once the run has finished, a resume only writes `final/` again), and the
    /// window shrinks to it. A resume of a finished run may be much shorter than `window` where
    /// that was mostly compiling kernels: Intel's CPU runtime compiles them in every process,
    /// where PoCL finds them in its cache on disk.
    private func killRepeatedly(
        _ arguments: [String], run: URL, window: Double, seed: UInt64, kills: Int = KillResumeTests.kills
    ) throws {
        var window = window
        var random = SplitMix(seed: seed)
        var landed = 0
        var starts = 0
        while true {
            let process = Process()
            process.executableURL = CommandRunner.executable
            let resume = FileManager.default.fileExists(atPath: run.path) ? ["--resume"] : []
            process.arguments = arguments + ["--out", run.path] + resume
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let started = Date()
            try process.run()
            starts += 1
            let killing = landed < kills && starts < 4 * kills
            if killing {
                let deadline = started.addingTimeInterval(window * random.nextUnit())
                while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    landed += 1
                } else {
                    window = min(window, Date().timeIntervalSince(started))
                }
            }
            process.waitUntilExit()
            if !killing {
                XCTAssertEqual(process.terminationStatus, 0, "the last start finishes the run")
                break
            }
        }
        XCTAssertEqual(landed, kills, "\(kills) kills landed in \(starts) starts")
    }

    private func weights(_ run: URL, _ file: String) throws -> Data {
        try Data(contentsOf: run.appendingPathComponent("final/\(file)"))
    }

    /// The steps of the run's metrics lines, in order.
    private func metricSteps(_ run: URL) throws -> [Int] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { line in
                let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return try XCTUnwrap(object["step"] as? Int)
            }
    }

    func testPretrainingAndLoRASFTSurviveKillNine() throws {
        let world = root.appendingPathComponent("world")
        let pretrain = try SmokeRecipe.pretrain(
            in: root, world: world, steps: 12, evalEvery: 4, checkpointEvery: 1, maxPositions: 64)
        let straightPretrain = root.appendingPathComponent("pretrain-straight")
        let pretrainSeconds = try straight(["pretrain", "--config", pretrain.path, "--out", straightPretrain.path])
        let killedPretrain = root.appendingPathComponent("pretrain-killed")
        try killRepeatedly(
            ["pretrain", "--config", pretrain.path], run: killedPretrain, window: pretrainSeconds, seed: 7)
        XCTAssertEqual(
            try weights(killedPretrain, "model.safetensors"), try weights(straightPretrain, "model.safetensors"))
        XCTAssertEqual(try metricSteps(killedPretrain), Array(1...12))

        let sft = try writeFile(
            """
            model:\n  init_from: \(straightPretrain.appendingPathComponent("final").path)
            data:\n  path: \(world.appendingPathComponent("world/sft.jsonl").path)\n  max_length: 64
            train:\n  steps: 10\n  batch_size: 2\n  eval_every: 5\n  checkpoint_every: 1
            lora:\n  r: 4\n  alpha: 8
            """, named: "sft.yaml", in: root)
        let straightSFT = root.appendingPathComponent("sft-straight")
        let sftSeconds = try straight(["sft", "--config", sft.path, "--out", straightSFT.path])
        let killedSFT = root.appendingPathComponent("sft-killed")
        try killRepeatedly(["sft", "--config", sft.path], run: killedSFT, window: sftSeconds, seed: 11)
        XCTAssertEqual(
            try weights(killedSFT, "adapter_model.safetensors"), try weights(straightSFT, "adapter_model.safetensors"))
        XCTAssertEqual(try metricSteps(killedSFT), Array(1...10))
    }
}

extension KillResumeTests {
    /// KTO with LoRA (the DPO stage's checkpoints, and its mismatched KL sequences), 6 kills.
    func testKTOWithLoRASurvivesKillNine() throws {
        let world = root.appendingPathComponent("world")
        let pretrain = try SmokeRecipe.pretrain(in: root, world: world, steps: 1, maxPositions: 96)
        let base = root.appendingPathComponent("base")
        _ = try straight(["pretrain", "--config", pretrain.path, "--out", base.path])
        let data = root.appendingPathComponent("kto.jsonl")
        try writeUnpairedData(from: world.appendingPathComponent("world/preferences.jsonl"), to: data)
        let kto = try writeFile(
            """
            model:\n  init_from: \(base.appendingPathComponent("final").path)
            data:\n  path: \(data.path)\n  max_length: 96
            train:\n  steps: 6\n  batch_size: 2\n  eval_every: 3\n  checkpoint_every: 1
            lora:\n  r: 4\n  alpha: 8
            """, named: "kto.yaml", in: root)
        let straightRun = root.appendingPathComponent("kto-straight")
        let seconds = try straight(["kto", "--config", kto.path, "--out", straightRun.path])
        let killed = root.appendingPathComponent("kto-killed")
        try killRepeatedly(["kto", "--config", kto.path], run: killed, window: seconds, seed: 13, kills: 6)
        XCTAssertEqual(
            try weights(killed, "adapter_model.safetensors"), try weights(straightRun, "adapter_model.safetensors"))
        XCTAssertEqual(try metricSteps(killed), Array(1...6))
    }
}

/// A small seeded generator for the kill delays.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    /// A uniform value in [0, 1).
    mutating func nextUnit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
}
