import Foundation
import TestSupport
import XCTest

/// The self-check refuses a device whose kernels compute something else before the first step,
/// naming the kernel and the driver, and runs once per device, driver and tuning.
final class SelfCheckTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("self-check")
    }

    private var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// A kernel folder whose packed matmul stores its partial last column block wrong: only the
    /// edge blocks of products whose width is not a multiple of the micro-kernel's are off.
    private func brokenKernels() throws -> URL {
        let folder = root.appendingPathComponent("kernels")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let source = try String(contentsOf: repository.appendingPathComponent("Kernels/matmul.cl"), encoding: .utf8)
        let edgeStore = "for (int jj = 0; col0 + jj < n; jj++) crow[jj] = row[jj];"
        XCTAssertTrue(source.contains(edgeStore), "the edge store moved; update this test")
        let broken = source.replacingOccurrences(
            of: edgeStore, with: "for (int jj = 0; col0 + jj < n; jj++) crow[jj] = row[jj] + 0.25f;")
        try broken.write(to: folder.appendingPathComponent("matmul.cl"), atomically: true, encoding: .utf8)
        return folder
    }

    func testABrokenEdgeTileIsRefusedBeforeTheFirstStep() throws {
        let recipe = try SmokeRecipe.pretrain(in: root, world: root.appendingPathComponent("world"), steps: 2)
        let run = root.appendingPathComponent("run")
        let environment = [
            "GPUTRAIN_KERNEL_SOURCES": try brokenKernels().path, "GPUTRAIN_KERNELS": "cpu",
            "XDG_CACHE_HOME": root.appendingPathComponent("cache").path,
        ]
        let result = try CommandRunner.run(
            ["pretrain", "--config", recipe.path, "--out", run.path], environment: environment)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(
            result.standardError.contains("disagrees with the reference device in matmul (packed)"),
            result.standardError)
        XCTAssertTrue(result.standardError.contains("driver "), result.standardError)
        XCTAssertTrue(result.standardError.contains("--skip-self-check"), result.standardError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "refused before the run folder was made")

        // The failure is remembered: a second try is refused without checking again.
        let again = try CommandRunner.run(
            ["pretrain", "--config", recipe.path, "--out", run.path], environment: environment)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.standardError.contains("matmul (packed)"), again.standardError)

        // At the user's own risk the run trains, and the run folder says so.
        let risked = try CommandRunner.run(
            ["pretrain", "--config", recipe.path, "--out", run.path, "--skip-self-check"], environment: environment)
        XCTAssertEqual(risked.status, 0, risked.standardError)
        let record = try String(contentsOf: run.appendingPathComponent("device.json"), encoding: .utf8)
        XCTAssertTrue(record.contains("skipped (--skip-self-check)"), record)
    }

    func testTheCheckRunsOncePerDeviceDriverAndTuning() throws {
        let recipe = try SmokeRecipe.pretrain(in: root, world: root.appendingPathComponent("world"), steps: 1)
        let environment = ["XDG_CACHE_HOME": root.appendingPathComponent("cache").path]
        // Each run names its variant, so that GPUTRAIN_KERNELS in the test's environment changes nothing.
        func train(_ name: String, _ kernels: [String] = ["--kernels", "cpu"]) throws -> String {
            let result = try CommandRunner.run(
                ["pretrain", "--config", recipe.path, "--out", root.appendingPathComponent(name).path] + kernels,
                environment: environment)
            XCTAssertEqual(result.status, 0, result.standardError)
            return result.standardError
        }
        let first = try train("first")
        XCTAssertTrue(first.contains("kernels agree with the reference device"), first)
        let second = try train("second")
        XCTAssertTrue(second.contains("self-check: passed on"), second)
        let other = try train("other-variant", ["--kernels", "gpu"])
        XCTAssertTrue(
            other.contains("kernels agree with the reference device"), "another tuning is checked anew: \(other)")
        let records = try String(
            contentsOf: root.appendingPathComponent("cache/gputrain/selfcheck.json"), encoding: .utf8)
        XCTAssertEqual(records.components(separatedBy: "\"failedKernel\"").count - 1, 0, "no failure recorded")
        XCTAssertEqual(records.components(separatedBy: "\"cases\"").count - 1, 2, "one record per tuning")
    }

    func testResumingOnAnotherTuningIsRefusedUnlessAllowed() throws {
        let recipe = try SmokeRecipe.pretrain(
            in: root, world: root.appendingPathComponent("world"), steps: 2, checkpointEvery: 1)
        let run = root.appendingPathComponent("run").path
        let first = try CommandRunner.run([
            "pretrain", "--config", recipe.path, "--out", run, "--set", "train.steps=1", "--kernels", "cpu",
        ])
        XCTAssertEqual(first.status, 0, first.standardError)
        let refused = try CommandRunner.run([
            "pretrain", "--config", recipe.path, "--out", run, "--resume", "--kernels", "gpu",
        ])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.standardError.contains("--allow-changed device"), refused.standardError)
    }
}
