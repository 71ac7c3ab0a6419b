import Foundation

#if canImport(Glibc)
    import Glibc
    /// The POSIX `write`, named apart from `AtomicFile.write`.
    private let systemWrite = Glibc.write
#elseif canImport(Darwin)
    import Darwin
    private let systemWrite = Darwin.write
#endif

/// Writes files so that readers (and a crash) see either the old complete file or the new complete
/// file, never a partial one: the bytes go to a temporary name in the same folder, are flushed to
/// disk, and the temporary file is renamed over the destination (rename is atomic within a file system).
public enum AtomicFile {
    /// Writes `data` to `url` atomically, creating the folder if needed.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { handle in
            try data.withUnsafeBytes { try writeAll($0, to: handle, url: url) }
        }
    }

    /// Writes the pieces in order to `url` atomically, without first joining them into one buffer
    /// (checkpoints can be large).
    public static func write(_ pieces: [Data], to url: URL) throws {
        try write(to: url) { handle in
            for piece in pieces {
                try piece.withUnsafeBytes { try writeAll($0, to: handle, url: url) }
            }
        }
    }

    /// Writes whatever `produce` emits, in order, to `url` atomically; the pieces are written as
    /// they come, so a file larger than memory can be streamed.
    public static func write(to url: URL, streaming produce: (_ emit: (Data) throws -> Void) throws -> Void) throws {
        try write(to: url) { handle in
            try produce { piece in try piece.withUnsafeBytes { try writeAll($0, to: handle, url: url) } }
        }
    }

    private static func write(to url: URL, body: (Int32) throws -> Void) throws {
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw FormatError(
                file: url.displayName, "cannot create folder \(folder.path): \(error.localizedDescription)")
        }
        let temporary = folder.appendingPathComponent(
            ".\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let handle = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard handle >= 0 else { throw systemError("cannot create temporary file \(temporary.path)", url) }
        var renamed = false
        defer {
            if !renamed { unlink(temporary.path) }
        }
        do {
            try body(handle)
            guard fsync(handle) == 0 else { throw systemError("cannot flush \(temporary.path)", url) }
        } catch {
            close(handle)
            throw error
        }
        guard close(handle) == 0 else { throw systemError("cannot close \(temporary.path)", url) }
        guard rename(temporary.path, url.path) == 0 else {
            throw systemError("cannot rename \(temporary.path) to \(url.lastPathComponent)", url)
        }
        renamed = true
    }

    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to handle: Int32, url: URL) throws {
        var offset = 0
        while offset < bytes.count {
            let written = systemWrite(handle, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw systemError("write failed", url)
            }
            offset += written
        }
    }

    private static func systemError(_ message: String, _ url: URL) -> FormatError {
        FormatError(file: url.displayName, "\(message): \(String(cString: strerror(errno)))")
    }
}
