import Foundation
import XCTest

/// Runs Python for the interop tests: tests that hand gputrain's files to the real clients
/// (transformers, PEFT, tokenizers, safetensors, gguf, llama.cpp). The Python is
/// `GPUTRAIN_PYTHON` when set, else the project's virtual environment `.venv/` (which
/// `scripts/setup.sh --tests` makes), else `python3` on the PATH.
///
/// Where the clients are missing the tests skip with the reason, unless
/// `GPUTRAIN_REQUIRE_INTEROP=1` (CI sets it): then a missing client is a failure, so CI cannot
/// pass with an interop test left out.
public enum PythonRunner {
    /// The interpreter to try.
    public static var candidate: String {
        if let chosen = ProcessInfo.processInfo.environment["GPUTRAIN_PYTHON"] { return chosen }
        let venv = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".venv/bin/python")
        return FileManager.default.isExecutableFile(atPath: venv.path) ? venv.path : "python3"
    }

    /// Whether a missing client fails the test instead of skipping it.
    public static var required: Bool { ProcessInfo.processInfo.environment["GPUTRAIN_REQUIRE_INTEROP"] == "1" }

    /// The interpreter when it imports every one of `modules`; otherwise the reason it cannot be
    /// used, for the skip message.
    public static func find(importing modules: [String]) -> Result<String, Unavailable> {
        let python = candidate
        do {
            let (status, output) = try run(python, ["-c", "import " + modules.joined(separator: ", ")])
            if status == 0 { return .success(python) }
            let reason = output.split(separator: "\n").last.map(String.init) ?? "exit status \(status)"
            return .failure(
                Unavailable(
                    reason:
                        "needs a Python with \(modules.joined(separator: ", ")) (run scripts/setup.sh --tests or set GPUTRAIN_PYTHON); \(python): \(reason)"
                ))
        } catch {
            return .failure(Unavailable(reason: "cannot run \(python): \(error)"))
        }
    }

    /// The interpreter that imports every one of `modules`; where there is none, skips the
    /// test with the reason, or fails it when the clients are required.
    public static func require(_ modules: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String
    {
        switch find(importing: modules) {
        case .success(let python): return python
        case .failure(let unavailable):
            if required {
                XCTFail("GPUTRAIN_REQUIRE_INTEROP=1 but " + unavailable.reason, file: file, line: line)
                throw unavailable
            }
            throw XCTSkip(unavailable.reason)
        }
    }

    /// Why no suitable Python was found.
    public struct Unavailable: Error {
        public var reason: String

        public init(reason: String) { self.reason = reason }
    }

    /// Runs `executable arguments…` (looked up on the PATH) and returns its exit status and
    /// standard output and error together.
    public static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
