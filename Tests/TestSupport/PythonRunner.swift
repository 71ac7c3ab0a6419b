import Foundation

/// Runs Python for the live cross-checks: tests that compare gputrain with the reference Python
/// libraries when they are installed and skip (with the reason) when not. The Python is
/// `GPUTRAIN_PYTHON` when set, else `python3` on the PATH.
public enum PythonRunner {
    /// The interpreter to try.
    public static var candidate: String { ProcessInfo.processInfo.environment["GPUTRAIN_PYTHON"] ?? "python3" }

    /// The interpreter when it imports every one of `modules`; otherwise the reason it cannot be
    /// used, for the skip message.
    public static func find(importing modules: [String]) -> Result<String, Unavailable> {
        let python = candidate
        do {
            let (status, output) = try run(python, ["-c", "import " + modules.joined(separator: ", ")])
            if status == 0 { return .success(python) }
            let reason = output.split(separator: "\n").last.map(String.init) ?? "exit status \(status)"
            return .failure(Unavailable(reason: "needs a Python with \(modules.joined(separator: ", ")) (set GPUTRAIN_PYTHON); \(python): \(reason)"))
        } catch {
            return .failure(Unavailable(reason: "cannot run \(python): \(error)"))
        }
    }

    /// Why no suitable Python was found.
    public struct Unavailable: Error {
        public var reason: String
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
