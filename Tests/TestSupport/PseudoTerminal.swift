import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
    /// The POSIX `read`, named apart from `PseudoTerminal.read`.
    private let systemRead = Glibc.read

    // Glibc's module map leaves out the pseudo-terminal functions (they are behind
    // _XOPEN_SOURCE), so they are looked up in the C library by name.
    private func libc<Function>(_ name: String, _: Function.Type) -> Function {
        guard let symbol = dlsym(nil, name) else { fatalError("the C library has no \(name)") }
        return unsafeBitCast(symbol, to: Function.self)
    }
    private let posix_openpt = libc("posix_openpt", (@convention(c) (Int32) -> Int32).self)
    private let grantpt = libc("grantpt", (@convention(c) (Int32) -> Int32).self)
    private let unlockpt = libc("unlockpt", (@convention(c) (Int32) -> Int32).self)
    private let ptsname = libc("ptsname", (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self)
#elseif canImport(Darwin)
    import Darwin
    private let systemRead = Darwin.read
#endif

/// The built `gputrain` run on a pseudo-terminal, as a person at a terminal runs it: its standard
/// input and output are the terminal (so it sees a tty, with line editing and echo), and the test
/// types lines and reads what it prints. Standard error goes to a pipe, read at the end.
public final class PseudoTerminal {
    public let process = Process()
    private let master: Int32
    private let errors = Pipe()
    /// Everything printed so far, and how much of it `read(until:)` has passed.
    private var output = ""
    private var consumed: String.Index

    /// Starts `gputrain arguments…` in `directory` on a new pseudo-terminal.
    public init(_ arguments: [String], in directory: URL? = nil) throws {
        master = posix_openpt(O_RDWR | O_NOCTTY)
        guard master >= 0, grantpt(master) == 0, unlockpt(master) == 0, let name = ptsname(master) else {
            throw PseudoTerminalError("cannot open a pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        consumed = output.startIndex
        let terminal = try FileHandle(forUpdating: URL(fileURLWithPath: String(cString: name)))
        process.executableURL = CommandRunner.executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = terminal
        process.standardOutput = terminal
        process.standardError = errors
        try process.run()
        // Only the child holds the terminal now, so its exit ends the output.
        try terminal.close()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        close(master)
    }

    /// Types `line` and Enter.
    public func type(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(master, $0.baseAddress!, $0.count) }
    }

    /// Waits until `text` is printed after what earlier calls read, and returns the output up to
    /// and including it; fails the test (and throws) when the process ends or `timeout` passes
    /// first.
    @discardableResult
    public func read(
        until text: String, timeout: TimeInterval = 120, file: StaticString = #filePath, line: UInt = #line
    )
        throws -> String
    {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let found = output.range(of: text, range: consumed..<output.endIndex) {
                let piece = String(output[consumed..<found.upperBound])
                consumed = found.upperBound
                return piece
            }
            guard Date() < deadline, pump() else {
                let message =
                    "'\(text)' never printed; the output after the last match:\n\(output[consumed...])\n"
                    + "standard error:\n\(standardError())"
                XCTFail(message, file: file, line: line)
                throw PseudoTerminalError(message)
            }
        }
    }

    /// Reads what is printed within 0.1 s; false once the process has ended and all is read.
    private func pump() -> Bool {
        var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 100) > 0 else { return true }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { systemRead(master, $0.baseAddress!, $0.count) }
        // A closed terminal reads as an error (EIO) on Linux, as end of file elsewhere.
        guard count > 0 else { return false }
        output += String(decoding: buffer[..<count], as: UTF8.self)
        return true
    }

    /// Everything printed on the terminal so far (the typed lines too: the terminal echoes them).
    public var printed: String {
        while pumpAvailable() {}
        return output
    }

    private func pumpAvailable() -> Bool {
        var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 0) > 0 else { return false }
        return pump()
    }

    /// Waits for the process to end and returns its exit status (or signal).
    public func wait() -> Int32 {
        while pump() {}
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Kills the process with SIGKILL, as a crash or a power cut would end it, and waits for it.
    public func killHard() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// What the process wrote to standard error (once it has ended).
    public func standardError() -> String {
        guard !process.isRunning else { return "(still running)" }
        return String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}

/// A pseudo-terminal that could not be opened, or output that never came.
public struct PseudoTerminalError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
