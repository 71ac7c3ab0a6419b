import Formats
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The advisory lock a process holds on a run folder while it writes there (`flock` on
/// `.lock`, which holds the holder's pid), so a second writer (a second `--overwrite`, or a run
/// and its `--resume`) is refused instead of interleaving metrics and weights. The kernel drops
/// the lock when the process ends, however it ends.
final class RunLock {
    static let fileName = ".lock"
    private let descriptor: Int32

    /// Takes the lock of `folder`, or throws naming the folder and the pid that holds it.
    init(folder: URL) throws {
        let url = folder.appendingPathComponent(Self.fileName)
        descriptor = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FormatError(file: url.path, "cannot be opened to lock the run (\(String(cString: strerror(errno))))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.holder(descriptor)
            close(descriptor)
            throw FormatError(
                file: folder.path,
                "is in use by another gputrain process\(holder.map { " (pid \($0))" } ?? ""); "
                    + "wait for it to finish or stop it, or choose another run folder")
        }
        let pid = Data("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    deinit { close(descriptor) }

    /// Checks, without keeping it, that `folder` is not locked by another process.
    static func requireFree(_ folder: URL) throws {
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(fileName).path) else { return }
        _ = try RunLock(folder: folder)
    }

    /// The pid written in the lock file.
    private static func holder(_ descriptor: Int32) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return Int(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
