import Foundation
import TestSupport
import XCTest

/// `gputrain data tiny-world` as a user runs it.
final class DataCommandTests: XCTestCase {
    func testTinyWorldWritesItsFilesDeterministically() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cli-tiny-world-\(getpid())")
        defer { try? FileManager.default.removeItem(at: base) }
        var contents: [Data] = []
        for run in ["a", "b"] {
            let out = base.appendingPathComponent(run).path
            let result = try CommandRunner.run(["data", "tiny-world", "--out", out, "--size", "smoke", "--seed", "9"])
            XCTAssertEqual(result.status, 0, result.standardError)
            XCTAssertTrue(result.standardOutput.contains("facts"), result.standardOutput)
            contents.append(try Data(contentsOf: URL(fileURLWithPath: out).appendingPathComponent("pretrain.jsonl")))
        }
        XCTAssertEqual(contents[0], contents[1], "same seed, same bytes")
    }

    func testUnknownSizeIsAClearError() throws {
        let result = try CommandRunner.run(["data", "tiny-world", "--out", "/tmp/unused", "--size", "huge"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("smoke, standard or large"), result.standardError)
    }
}
