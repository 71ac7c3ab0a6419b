import Foundation
import TestSupport
import XCTest

/// A real full disk at three points of a short pretraining (in the first checkpoint, midway,
/// and while `final/` is written): writes under the run folder fail with ENOSPC from the C
/// library's `write` (an LD_PRELOAD shim, `Shims/full_disk.c`, built here with clang; nothing in
/// gputrain knows of it). Each time the run exits with an error naming the file, and `--resume`
/// on a disk with room continues it to the same final weights, bit for bit, with each step's
/// metrics once.
final class FullDiskTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("full-disk")
    }

    /// Builds the shim; clang ships with the Swift toolchain.
    private func buildShim() throws -> URL {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Shims/full_disk.c")
        let library = root.appendingPathComponent("full_disk.so")
        let clang = Process()
        clang.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        clang.arguments = ["clang", "-shared", "-fPIC", "-o", library.path, source.path, "-ldl"]
        try clang.run()
        clang.waitUntilExit()
        XCTAssertEqual(clang.terminationStatus, 0, "clang builds the full-disk shim")
        return library
    }

    /// Runs gputrain with `arguments`, its writes under `folder` limited to `bytes` in all.
    private func runOnFullDisk(_ arguments: [String], folder: URL, bytes: Int, shim: URL, report: URL? = nil) throws
        -> (reason: Process.TerminationReason, status: Int32, standardError: String)
    {
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["LD_PRELOAD"] = shim.path
        environment["FULL_DISK_PATH"] = folder.path
        environment["FULL_DISK_BYTES"] = String(bytes)
        if let report { environment["FULL_DISK_REPORT"] = report.path }
        process.environment = environment
        let errors = root.appendingPathComponent("stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        return (process.terminationReason, process.terminationStatus, try String(contentsOf: errors, encoding: .utf8))
    }

    func testAFullDiskAtThreePointsLeavesARunThatResumes() throws {
        let shim = try buildShim()
        let recipe = try SmokeRecipe.pretrain(
            in: root, world: root.appendingPathComponent("world"), steps: 8, evalEvery: 4, checkpointEvery: 1)
        // An uninterrupted run on a roomy disk, through the shim only to count what it writes.
        let straight = root.appendingPathComponent("straight")
        let count = root.appendingPathComponent("bytes-written")
        let counted = try runOnFullDisk(
            ["pretrain", "--config", recipe.path, "--out", straight.path], folder: straight, bytes: 1 << 40,
            shim: shim, report: count)
        XCTAssertEqual(counted.status, 0, counted.standardError)
        let total = try XCTUnwrap(
            Int(try String(contentsOf: count, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let finalBytes = try FileManager.default.contentsOfDirectory(
            atPath: straight.appendingPathComponent("final").path
        ).reduce(0) { sum, name in
            sum
                + ((try? FileManager.default.attributesOfItem(
                    atPath: straight.appendingPathComponent("final/\(name)").path)[.size] as? Int) ?? 0)
        }
        for (index, budget) in [60_000, total / 2, total - finalBytes / 2].enumerated() {
            let run = root.appendingPathComponent("full-\(index)")
            let full = try runOnFullDisk(
                ["pretrain", "--config", recipe.path, "--out", run.path], folder: run, bytes: budget, shim: shim)
            XCTAssertEqual(full.reason, .exit, "budget \(budget): an error, not a signal")
            XCTAssertNotEqual(full.status, 0, "budget \(budget)")
            XCTAssertTrue(full.standardError.contains("No space left on device"), full.standardError)
            XCTAssertTrue(full.standardError.contains(run.path), full.standardError)

            let resumed = try CommandRunner.run(["pretrain", "--config", recipe.path, "--out", run.path, "--resume"])
            XCTAssertEqual(resumed.status, 0, "budget \(budget): \(resumed.standardError)")
            XCTAssertEqual(
                try Data(contentsOf: run.appendingPathComponent("final/model.safetensors")),
                try Data(contentsOf: straight.appendingPathComponent("final/model.safetensors")), "budget \(budget)")
            let steps = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
                .split(separator: "\n").map { line in
                    (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["step"] as? Int
                }
            XCTAssertEqual(steps, Array(1...8), "budget \(budget)")
        }
    }
}
