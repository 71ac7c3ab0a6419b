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
/// ends with every pair written; a port that is taken is refused with nothing written, and
/// requests that another site could send are refused.
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

    func testOnlyThePagesOwnRequestsAreAnswered() throws {
        let prompts = try LabelCommandTests.writePrompts(in: root)
        let out = root.appendingPathComponent("prefs.jsonl")
        let server = Process()
        server.executableURL = CommandRunner.executable
        server.arguments = ["label", "--prompts", prompts.path, "--out", out.path, "--web", "0"]
        let output = Pipe()
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            server.interrupt()
            server.waitUntilExit()
        }
        var printed = ""
        while !printed.contains("/\n") {
            let data = output.fileHandleForReading.availableData
            guard !data.isEmpty else { break }
            printed += String(decoding: data, as: UTF8.self)
        }
        let address = try XCTUnwrap(printed.split(separator: "\n").first { $0.hasPrefix("http://127.0.0.1:") })
        let port = try XCTUnwrap(UInt16(address.dropFirst("http://127.0.0.1:".count).dropLast()))

        func status(_ request: String) throws -> Int {
            let response = try exchange(request.replacingOccurrences(of: "\n", with: "\r\n"), port: port)
            return try XCTUnwrap(Int(response.split(separator: " ").dropFirst().first ?? ""), response)
        }
        let json = "Content-Type: application/json\nContent-Length: 11\nConnection: close\n\n{\"index\":0}"
        XCTAssertEqual(try status("GET /api/state HTTP/1.1\nHost: 127.0.0.1:\(port)\nConnection: close\n\n"), 200)
        XCTAssertEqual(try status("GET / HTTP/1.1\nHost: localhost:\(port)\nConnection: close\n\n"), 200)
        // Another site's page reaching the server through a DNS name of its own.
        XCTAssertEqual(try status("GET /api/state HTTP/1.1\nHost: evil.example:\(port)\nConnection: close\n\n"), 403)
        XCTAssertEqual(try status("POST /api/skip HTTP/1.1\nHost: evil.example:\(port)\n" + json), 403)
        // A form or script of another site can POST text/plain without asking.
        XCTAssertEqual(
            try status(
                "POST /api/skip HTTP/1.1\nHost: 127.0.0.1:\(port)\nContent-Type: text/plain\nContent-Length: 11\n"
                    + "Connection: close\n\n{\"index\":0}"), 415)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path + ".session.jsonl"), "nothing decided")
        XCTAssertEqual(try status("POST /api/skip HTTP/1.1\nHost: 127.0.0.1:\(port)\n" + json), 200)
        XCTAssertEqual(
            try status("POST /api/skip HTTP/1.1\nHost: 127.0.0.1:\(port)\n" + json), 409, "prompt 1 is decided")
        XCTAssertEqual(try LabelCommandTests.jsonLines(URL(fileURLWithPath: out.path + ".session.jsonl")).count, 1)
    }

    /// Sends `request` to 127.0.0.1:`port` and returns the response's first line.
    private func exchange(_ request: String, port: UInt16) throws -> String {
        #if canImport(Glibc)
            let handle = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let handle = Darwin.socket(AF_INET, SOCK_STREAM, 0)
        #endif
        defer { close(handle) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(handle, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let bytes = Array(request.utf8)
        // A server that closes first must not end the test process with SIGPIPE.
        #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
        #else
            let flags: Int32 = 0
        #endif
        guard send(handle, bytes, bytes.count, flags) == bytes.count else { throw POSIXError(.EIO) }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !response.contains(0x0A) {
            let count = recv(handle, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            response += buffer[..<count]
        }
        return String(decoding: response, as: UTF8.self).components(separatedBy: "\r\n")[0]
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
