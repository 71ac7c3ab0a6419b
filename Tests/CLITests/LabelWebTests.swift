import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `gputrain label --web`: the page in a real browser (headless Chromium driven by selenium,
/// `label_browser.py`) ranks by clicking and by keyboard, survives a kill -9 of the server, and
/// ends with every pair written; a port that is taken is refused with nothing written.
final class LabelWebTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("label-web")
    }

    func testRanksInABrowserAcrossAKilledServer() throws {
        let browser = try requireBrowser()
        let prompts = try LabelCommandTests.writePrompts(in: root)
        let out = root.appendingPathComponent("prefs.jsonl")
        let rankings = [[[1], [0], [3], [2]], [[3], [1], [0], [2]], [[0], [3], [1], [2]]]
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "label_browser.py")
        let rankingsJSON = String(decoding: try JSONSerialization.data(withJSONObject: rankings), as: UTF8.self)
        let (status, output) = try PythonRunner.run(
            browser.python,
            [
                script.path, "--gputrain", CommandRunner.executable.path, "--prompts", prompts.path, "--out",
                out.path, "--rankings", rankingsJSON, "--chromium", browser.chromium, "--chromedriver",
                browser.chromedriver,
            ])
        XCTAssertEqual(status, 0, output)
        let pairs = try LabelCommandTests.jsonLines(out)
        XCTAssertEqual(pairs.count, 18)
        XCTAssertEqual(pairs, LabelCommandTests.expectedPairs(rankings))
        let records = try LabelCommandTests.jsonLines(out.appendingPathExtension("session.jsonl"))
        XCTAssertEqual(records.map { $0["index"] as? Int }, [0, 1, 2], "no ranking lost or duplicated")
    }

    func testATakenPortIsRefusedWithNothingWritten() throws {
        let prompts = try LabelCommandTests.writePrompts(in: root)
        let (socket, port) = try listeningSocket()
        defer { close(socket) }
        let result = try CommandRunner.run(
            [
                "label", "--prompts", prompts.path, "--out", root.appendingPathComponent("prefs.jsonl").path, "--web",
                String(port),
            ])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(
            result.standardError.contains("cannot listen on 127.0.0.1:\(port)")
                && result.standardError.contains("--web 0 for a free one"), result.standardError)
        XCTAssertFalse(result.standardOutput.contains("http://"), result.standardOutput)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["prompts.jsonl"])
    }

    /// A socket listening on a free port of 127.0.0.1, and the port.
    private func listeningSocket() throws -> (Int32, UInt16) {
        #if canImport(Glibc)
            let handle = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let handle = Darwin.socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(handle, address, length) == 0 && listen(handle, 1) == 0
                    && getsockname(handle, address, &length) == 0
            }
        }
        guard handle >= 0, bound else { throw XCTSkip("cannot listen on 127.0.0.1 here") }
        return (handle, UInt16(bigEndian: address.sin_port))
    }

    /// What the browser test needs: Chromium, its driver, and a Python with selenium. Where one is
    /// missing the test is skipped with the reason, or fails when the interop clients are
    /// required (`GPUTRAIN_REQUIRE_INTEROP=1`, as in CI).
    private func requireBrowser() throws -> (python: String, chromium: String, chromedriver: String) {
        func onPath(_ names: [String]) -> String? {
            let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") + ["/usr/bin"]
            for name in names {
                for folder in folders where FileManager.default.isExecutableFile(atPath: "\(folder)/\(name)") {
                    return "\(folder)/\(name)"
                }
            }
            return nil
        }
        var missing: [String] = []
        let chromium = onPath(["chromium", "chromium-browser"])
        if chromium == nil { missing.append("chromium (apt install chromium)") }
        let driver = onPath(["chromedriver"])
        if driver == nil { missing.append("chromedriver (apt install chromium-driver)") }
        var python: String?
        switch PythonRunner.find(importing: ["selenium"]) {
        case .success(let found): python = found
        case .failure(let unavailable): missing.append(unavailable.reason)
        }
        guard let python, let chromium, let driver else {
            let reason = "the browser test cannot run: " + missing.joined(separator: "; ")
            if PythonRunner.required {
                XCTFail("GPUTRAIN_REQUIRE_INTEROP=1 but " + reason)
                throw PythonRunner.Unavailable(reason: reason)
            }
            throw XCTSkip(reason)
        }
        return (python, chromium, driver)
    }
}
