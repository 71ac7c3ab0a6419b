import Formats
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The answers file of `gputrain generate --data`, with its sidecar `<out>.meta.json` (the
/// settings it was written with; docs/formats.md §4.7). Lines are appended a batch at a time and
/// flushed to disk after each batch, so an interrupted run leaves whole batches plus at most
/// one cut batch. Opening the file again with the same settings keeps its whole batches and
/// cuts the rest away (a half-written line, a line that is not what gputrain writes, the lines
/// of an unfinished batch), so the run continues where an uninterrupted one would be.
///
/// Only a file with a sidecar is ever changed: a non-empty file without one was not written by
/// gputrain, and is refused even with `overwrite`. One process at a time writes a file (an
/// advisory lock on it, released by the kernel however the process ends).
public final class GenerationOutputFile {
    /// How an opened file starts.
    public struct Start: Equatable, Sendable {
        /// Rows kept from an earlier run (0 for a new or overwritten file).
        public var keptRows: Int
        /// Bytes those rows take.
        public var keptBytes: Int
        /// Lines (or a last partial line) after the kept rows that are cut away.
        public var droppedLines: Int
        /// Whether an earlier run's file is replaced (`overwrite`).
        public var overwrites: Bool
        /// Whether the sidecar is (re)written: a new or overwritten file.
        var writesSidecar: Bool
    }

    public let url: URL
    public let plan: GenerationPlan
    /// How the file started when it was opened.
    public let start: Start
    /// Rows in the file now.
    public private(set) var rowsWritten: Int
    private let descriptor: Int32

    /// Where the sidecar of `url` is: `<url>.meta.json`.
    public static func sidecarURL(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(url.lastPathComponent + ".meta.json")
    }

    /// How opening `url` would start, found without writing anything; throws where opening would
    /// refuse (another run's settings without `overwrite`, a file gputrain did not write).
    public static func examine(_ url: URL, settings: DataGenerationSettings, plan: GenerationPlan, overwrite: Bool)
        throws -> Start
    {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder)
        guard !isFolder.boolValue else {
            throw FormatError(file: url.path, "is a folder; --out takes the path of a JSONL file")
        }
        let sidecar = sidecarURL(for: url)
        let contents = exists ? try Data(contentsOf: url) : Data()
        guard let recorded = try readSidecar(sidecar) else {
            guard contents.isEmpty else {
                throw FormatError(
                    file: url.path,
                    "exists without the \(sidecar.lastPathComponent) that gputrain writes beside its answers, so "
                        + "gputrain did not write it and will not change it (not even with --overwrite); choose "
                        + "another --out or move the file away")
            }
            return Start(keptRows: 0, keptBytes: 0, droppedLines: 0, overwrites: false, writesSidecar: true)
        }
        if overwrite {
            return Start(keptRows: 0, keptBytes: 0, droppedLines: 0, overwrites: true, writesSidecar: true)
        }
        if let difference = settings.firstDifference(from: recorded) {
            throw FormatError(
                file: url.path,
                "was written with other settings and cannot be resumed: \(difference.setting) was "
                    + "\(difference.recorded), now \(difference.now) (\(sidecar.lastPathComponent) records the "
                    + "settings); run with the recorded settings to resume, or add --overwrite to start again")
        }
        return resumption(of: contents, plan: plan)
    }

    /// The sidecar's content, `nil` when there is none; a file that is not a sidecar is an error.
    private static func readSidecar(_ url: URL) throws -> JSONObject? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        guard let object = (try? JSONValue.parse(data, file: url.path))?.objectValue,
            object["format"]?.stringValue == DataGenerationSettings.format
        else {
            throw FormatError(
                file: url.path,
                "is not the sidecar gputrain writes (it lacks \"format\": \"\(DataGenerationSettings.format)\"), "
                    + "so gputrain will not change it or the file beside it; move it away or choose another --out")
        }
        return object
    }

    /// Where a file holding `contents` resumes: after its whole batches of rows, each a complete
    /// line that reads as the row it should be.
    static func resumption(of contents: Data, plan: GenerationPlan) -> Start {
        var lineEnds: [Int] = []
        var start = contents.startIndex
        while lineEnds.count < plan.rowCount, let end = contents[start...].firstIndex(of: 0x0A) {
            let expected = plan.item(ofRow: lineEnds.count)
            guard let object = (try? JSONValue.parse(contents[start..<end], file: "answers"))?.objectValue,
                object["index"]?.intValue == expected.index, object["sample"]?.intValue == expected.sample
            else { break }
            lineEnds.append(end + 1 - contents.startIndex)
            start = end + 1
        }
        let kept = plan.wholeBatchRows(in: lineEnds.count)
        let keptBytes = kept == 0 ? 0 : lineEnds[kept - 1]
        let rest = contents.dropFirst(keptBytes)
        let droppedLines =
            rest.split(separator: 0x0A, omittingEmptySubsequences: false).count - (rest.last == 0x0A ? 1 : 0)
        return Start(
            keptRows: kept, keptBytes: keptBytes, droppedLines: rest.isEmpty ? 0 : droppedLines, overwrites: false,
            writesSidecar: false)
    }

    /// Opens `url` to write `plan`'s rows with `settings`: takes the file's lock, decides as
    /// `examine` does, and then cuts the file to its whole batches, or empties it and writes
    /// the sidecar for a new or overwritten file (emptied first, so a file never sits beside
    /// a sidecar it does not match).
    public init(_ url: URL, settings: DataGenerationSettings, plan: GenerationPlan, overwrite: Bool) throws {
        self.url = url
        self.plan = plan
        let existed = FileManager.default.fileExists(atPath: url.path)
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        descriptor = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.systemError("cannot be opened for writing", url) }
        do {
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                throw FormatError(
                    file: url.path,
                    "is being written by another gputrain process; wait for it to finish or choose another --out")
            }
            start = try Self.examine(url, settings: settings, plan: plan, overwrite: overwrite)
            guard ftruncate(descriptor, off_t(start.keptBytes)) == 0, fsync(descriptor) == 0 else {
                throw Self.systemError("cannot be cut to its \(start.keptRows) whole rows", url)
            }
            if start.writesSidecar {
                try AtomicFile.write(settings.json.serializedData(.pretty), to: Self.sidecarURL(for: url))
            }
            guard lseek(descriptor, 0, SEEK_END) >= 0 else { throw Self.systemError("cannot be appended to", url) }
        } catch {
            close(descriptor)
            if !existed { unlink(url.path) }
            throw error
        }
        rowsWritten = start.keptRows
    }

    deinit { close(descriptor) }

    /// Appends the next rows' lines (each without its newline) and flushes them to disk.
    public func append(_ lines: [String]) throws {
        precondition(rowsWritten + lines.count <= plan.rowCount, "no more rows than the plan")
        var data = Data()
        for line in lines {
            data.append(contentsOf: line.utf8)
            data.append(0x0A)
        }
        try data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw Self.systemError("cannot be written", url)
                }
                offset += written
            }
        }
        guard fsync(descriptor) == 0 else { throw Self.systemError("cannot be flushed to disk", url) }
        rowsWritten += lines.count
    }

    private static func systemError(_ message: String, _ url: URL) -> FormatError {
        FormatError(file: url.path, "\(message): \(String(cString: strerror(errno)))")
    }
}
