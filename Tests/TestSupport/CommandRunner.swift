import Foundation

/// Runs the built `gputrain` binary, as a user would, and captures what it prints.
public struct CommandRunner {
    /// What one run printed and how it ended.
    public struct Result {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
    }

    /// The `gputrain` executable next to the test bundle (SwiftPM builds both into one folder).
    public static var executable: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0])
        var directory = bundle.deletingLastPathComponent()
        // On macOS the xctest bundle is a folder whose binary sits three levels deeper.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("gputrain").path),
            directory.path != "/"
        {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("gputrain")
    }

    /// Runs `gputrain arguments…` with `environment` added to this process's environment,
    /// `input`, when given, as its standard input, and `directory`, when given, as its working
    /// directory.
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], input: String? = nil,
        in directory: URL? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = executable
        if let directory { process.currentDirectoryURL = directory }
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let stdin = input.map { _ in Pipe() }
        if let stdin { process.standardInput = stdin }
        try process.run()
        if let stdin, let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        // Read both pipes before waiting, so a chatty child cannot block on a full pipe.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            standardOutput: String(decoding: outData, as: UTF8.self),
            standardError: String(decoding: errData, as: UTF8.self))
    }
}
