import Formats
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The session file of `gputrain label`: one `LabelRecord` per line, in the order the prompts
/// were decided. Each decision is appended and flushed to disk before anything else is
/// written, so a crash or a kill loses at most the decision being written; undo rewrites the
/// file atomically without its last line. docs/formats.md §4.8.
public struct SessionFile {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// The records on disk (none when there is no file), and whether the file must be rewritten
    /// before the next append because it does not end with a newline. Every append ends with
    /// one, so a last line without it was being written when the process died: it is dropped
    /// unless it reads as a whole record.
    public func read() throws -> (records: [LabelRecord], needsRewrite: Bool) {
        guard FileManager.default.fileExists(atPath: url.path) else { return ([], false) }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw LabelError("\(url.path): cannot be read; check its permissions")
        }
        var lines = try TextLines.lines(of: data, file: url.path)
        var partial: LabelRecord?
        let needsRewrite = !data.isEmpty && data.last != 0x0A
        if needsRewrite, let last = lines.popLast(), !last.isBlank {
            partial = try? LabelRecord(line: last.text, number: last.number, file: url.path)
        }
        let records = try lines.filter { !$0.isBlank }.map {
            try LabelRecord(line: $0.text, number: $0.number, file: url.path)
        }
        return (records + (partial.map { [$0] } ?? []), needsRewrite)
    }

    /// Appends `record` as a line and flushes it to disk before returning.
    public func append(_ record: LabelRecord) throws {
        let handle = open(url.path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard handle >= 0 else { throw systemError("cannot open") }
        defer { close(handle) }
        let bytes = Array((record.line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(handle, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw systemError("cannot append a record")
            }
            offset += written
        }
        guard fsync(handle) == 0 else { throw systemError("cannot flush") }
    }

    /// Replaces the file with `records`, atomically.
    public func rewrite(_ records: [LabelRecord]) throws {
        try AtomicFile.write(Data(records.map { $0.line + "\n" }.joined().utf8), to: url)
    }

    private func systemError(_ message: String) -> LabelError {
        LabelError("\(url.path): \(message): \(String(cString: strerror(errno)))")
    }
}
