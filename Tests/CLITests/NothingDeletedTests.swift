import Foundation
import TestSupport
import XCTest

/// No command deletes what gputrain did not make: `export` refuses a non-empty folder, and
/// `--overwrite` (of `export` and of every run) replaces only a folder holding gputrain's marker,
/// so a folder of the user's files survives every attempt.
final class NothingDeletedTests: XCTestCase {
    private var scratch: URL!
    private let model = HuggingFaceFixtures.folder("gpt2-tiny")

    override func setUpWithError() throws {
        scratch = try makeScratchFolder("nothing-deleted")
    }

    /// A folder of the user's, with a file in it.
    private func userFolder(_ name: String) throws -> (folder: URL, file: URL) {
        let folder = scratch.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return (folder, try writeFile("my notes\n", named: "notes.txt", in: folder))
    }

    func testExportNeverReplacesAFolderItDidNotMake() throws {
        let (folder, file) = try userFolder("projects")
        for flags in [[], ["--overwrite"]] {
            let result = try CommandRunner.run(["export", "--model", model.path, "--out", folder.path] + flags)
            XCTAssertNotEqual(result.status, 0, "\(flags)")
            XCTAssertTrue(result.standardError.contains(folder.path), result.standardError)
            XCTAssertTrue(
                result.standardError.contains(flags.isEmpty ? "--overwrite" : "not made by gputrain"),
                result.standardError)
            XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "my notes\n", "\(flags)")
        }
    }

    func testExportReplacesItsOwnExportOnlyWithOverwrite() throws {
        let out = scratch.appendingPathComponent("exported")
        let first = try CommandRunner.run(["export", "--model", model.path, "--out", out.path])
        XCTAssertEqual(first.status, 0, first.standardError)
        let again = try CommandRunner.run(["export", "--model", model.path, "--out", out.path])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.standardError.contains("--overwrite"), again.standardError)
        let replaced = try CommandRunner.run(["export", "--model", model.path, "--out", out.path, "--overwrite"])
        XCTAssertEqual(replaced.status, 0, replaced.standardError)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("config.json").path))
    }

    func testGGUFOverwriteReplacesOnlyAGGUFFile() throws {
        let file = try writeFile("not a model\n", named: "thesis.gguf", in: scratch)
        for flags in [[], ["--overwrite"]] {
            let result = try CommandRunner.run(
                ["export", "--model", model.path, "--format", "gguf", "--out", file.path] + flags)
            XCTAssertNotEqual(result.status, 0, "\(flags)")
            XCTAssertTrue(result.standardError.contains(file.path), result.standardError)
            XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "not a model\n")
        }
    }

    func testRunOverwriteNeverDeletesAFolderItDidNotMake() throws {
        let (folder, file) = try userFolder("home")
        let result = try CommandRunner.run([
            "pretrain", "--config", "tiny-world-pretrain", "--out", folder.path, "--overwrite",
        ])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("\(folder.path): was not made by gputrain"), result.standardError)
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "my notes\n")
    }

    func testARunNameCannotLeaveRunOut() throws {
        let result = try CommandRunner.run([
            "pretrain", "--config", "tiny-world-pretrain", "--set", "run.out=\(scratch.path)/runs",
            "--set", "run.name=../../escaped",
        ])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("'run.name' must be a plain folder name"), result.standardError)
        XCTAssertFalse(
            FileManager.default.fileExists(
                atPath: scratch.deletingLastPathComponent().appendingPathComponent("escaped").path))
    }
}
