import Formats
import Foundation
import TestSupport
import XCTest

/// A diverging run (learning rate 1e9) is caught at the step where the loss or gradient norm
/// stops being finite: `train.on_nonfinite: stop` ends the run with the step and the value
/// named, a non-zero exit and a checkpoint of finite weights; `skip` goes on, counting; and
/// `metrics.jsonl` stays valid JSON (null, with the keys listed in "nonfinite").
final class NonFiniteStepTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("non-finite")
    }

    private func recipe(steps: Int) throws -> URL {
        try SmokeRecipe.pretrain(
            in: root, named: "diverging.yaml", world: root.appendingPathComponent("world"), steps: steps,
            checkpointEvery: 100, sections: "optim:\n  learning_rate: 1e9")
    }

    /// Every line of the run's metrics, parsed.
    private func metrics(_ run: URL) throws -> [[String: Any]] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { line in
                try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
            }
    }

    func testADivergingRunStopsAtTheStepWithAFiniteCheckpoint() throws {
        let run = root.appendingPathComponent("stop")
        let result = try CommandRunner.run(["pretrain", "--config", try recipe(steps: 8).path, "--out", run.path])
        XCTAssertNotEqual(result.status, 0)
        let lines = try metrics(run)
        let bad = try XCTUnwrap(lines.last)
        let step = try XCTUnwrap(bad["step"] as? Int)
        XCTAssertLessThan(step, 8, "stopped early")
        XCTAssertTrue(result.standardError.contains("step \(step): the loss is"), result.standardError)
        XCTAssertTrue(result.standardError.contains("optim.learning_rate"), result.standardError)
        let listed = try XCTUnwrap(bad["nonfinite"] as? [String])
        XCTAssertFalse(listed.isEmpty)
        for key in listed { XCTAssertTrue(bad[key] is NSNull, "\(key) is written as null") }

        let checkpoints = try FileManager.default.contentsOfDirectory(
            atPath: run.appendingPathComponent("checkpoints").path)
        let saved = try XCTUnwrap(checkpoints.sorted().last)
        XCTAssertTrue(
            result.standardError.contains("checkpointed at \(saved.replacingOccurrences(of: "-", with: " "))"))
        let weights = try SafetensorsFile(
            contentsOf: run.appendingPathComponent("checkpoints/\(saved)/model.safetensors"))
        for name in weights.tensors.map(\.name) {
            XCTAssertTrue(try weights.floats(name).allSatisfy(\.isFinite), "\(name) is finite in \(saved)")
        }
    }

    func testSkipGoesOnAndCountsTheSkippedSteps() throws {
        let run = root.appendingPathComponent("skip")
        let result = try CommandRunner.run([
            "pretrain", "--config", try recipe(steps: 6).path, "--out", run.path,
            "--set", "train.on_nonfinite=skip", "--set", "train.max_skipped_steps=10",
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        let lines = try metrics(run)
        XCTAssertEqual(lines.map { $0["step"] as? Int }, Array(1...6))
        let skipped = lines.compactMap { $0["skipped_steps"] as? Double }
        XCTAssertFalse(skipped.isEmpty, "some steps were skipped")
        XCTAssertEqual(skipped, (1...skipped.count).map(Double.init), "counted one by one")
    }

    func testSkipStopsAfterMaxSkippedStepsInARow() throws {
        let run = root.appendingPathComponent("too-many")
        let result = try CommandRunner.run([
            "pretrain", "--config", try recipe(steps: 8).path, "--out", run.path,
            "--set", "train.on_nonfinite=skip", "--set", "train.max_skipped_steps=1",
        ])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("2 non-finite steps in a row"), result.standardError)
    }
}
