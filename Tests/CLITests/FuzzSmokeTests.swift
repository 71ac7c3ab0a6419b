import Foundation
import TestSupport
import XCTest

/// The short fuzzing run CI makes: `gputrain-fuzz` mutates the seed corpus of every reader
/// (`Tests/Fuzz/Corpus`) for 30 seconds each; a trap, an input read for over 10 s or a peak
/// resident size over 1 GiB fails it, leaving the input in the work folder it names.
final class FuzzSmokeTests: XCTestCase {
    func testEveryReaderSurvivesThirtySecondsOfMutations() throws {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let work = try makeScratchFolder("fuzz")
        let process = Process()
        process.executableURL = CommandRunner.executable.deletingLastPathComponent().appendingPathComponent(
            "gputrain-fuzz")
        process.arguments = [
            "--corpus", tests.appendingPathComponent("Fuzz/Corpus").path, "--work", work.path, "--seconds", "30",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit, report)
        XCTAssertEqual(process.terminationStatus, 0, report)
        XCTAssertEqual(
            report.split(separator: "\n").filter { $0.contains("no crash, hang or huge allocation") }.count, 7, report)
        print(report)
    }
}
