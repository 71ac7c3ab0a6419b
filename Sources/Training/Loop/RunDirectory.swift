import Formats
import Foundation

/// The folder of one run (`runs/<name>/`): the resolved config, `metrics.jsonl`, checkpoints
/// and the final model.
public struct RunDirectory {
    /// What to do when the folder already exists.
    public enum Existing: Sendable {
        /// Refuse (the default): nothing is overwritten by accident.
        case refuse
        /// Continue from its latest checkpoint.
        case resume
        /// Delete it and start again (only a folder gputrain made, `OwnedFolder`).
        case overwrite
    }

    public let url: URL
    /// Where caches that later runs may reuse go (DPO's reference log-probs): the run folder's
    /// `cache/` unless the caller names a shared one inside the runs' folder (`<run.out>/.cache`).
    public var cacheFolder: URL
    /// The protected settings (`ResumeCheck`) a resume may change: keys or sections, from
    /// `--allow-changed`.
    public var allowedChanges: Set<String> = []
    /// Held while this value lives: no other process writes the folder meanwhile.
    private let lock: RunLock

    /// Opens or creates the run folder `url`, following `existing` when it is there already,
    /// and locks it (`RunLock`) for this process.
    public init(url: URL, existing: Existing) throws {
        self.url = url
        cacheFolder = url.appendingPathComponent("cache")
        let exists = FileManager.default.fileExists(atPath: url.path)
        switch (exists, existing) {
        case (true, .refuse):
            throw FormatError(
                file: url.path, "run directory exists; pass --resume to continue it or --overwrite to start again")
        case (true, .overwrite):
            try RunLock.requireFree(url)
            try OwnedFolder.remove(url, instead: "move it away or choose another run.name or --out")
            try OwnedFolder.create(url, holding: "run folder")
        case (true, .resume):
            break
        case (false, _):
            try OwnedFolder.create(url, holding: "run folder")
        }
        lock = try RunLock(folder: url)
    }

    /// Before a resumed run continues: refuses a changed protected setting (`ResumeCheck`)
    /// unless allowed, and records the allowed changes in `changes.log`.
    func checkResume<T: Configuration>(_ config: T) throws {
        let saved = url.appendingPathComponent("config.yaml")
        guard let latest = TrainerCheckpoint.latest(in: url), let old = try? String(contentsOf: saved, encoding: .utf8)
        else { return }
        let changes = try ResumeCheck.changes(from: old, to: ConfigLoader.yaml(of: config), allowed: allowedChanges)
        guard !changes.isEmpty else { return }
        let log = url.appendingPathComponent("changes.log")
        let before = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let entry = changes.map { "resumed from \(latest.lastPathComponent) with \($0)\n" }.joined()
        try AtomicFile.write(Data((before + entry).utf8), to: log)
    }

    public var metricsURL: URL { url.appendingPathComponent("metrics.jsonl") }
    public var finalModelURL: URL { url.appendingPathComponent("final") }

    /// Appends one JSON object as a line of `metrics.jsonl`.
    public func appendMetrics<T: Encodable>(_ record: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(record)
        line.append(0x0A)
        if let handle = try? FileHandle(forWritingTo: metricsURL) {
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
        } else {
            try line.write(to: metricsURL)
        }
    }

    /// Keeps the metrics lines of steps up to `step` (a resumed run repeats the later ones),
    /// dropping any line a killed process or a full disk left half written.
    public func truncateMetrics(after step: Int) throws {
        guard let text = try? String(contentsOf: metricsURL, encoding: .utf8) else { return }
        let kept = text.split(separator: "\n").filter { line in
            guard
                let lineStep = (try? JSONValue.parse(Data(line.utf8), file: metricsURL.path))?.objectValue?["step"]?
                    .intValue
            else { return false }
            return lineStep <= step
        }
        try AtomicFile.write(Data((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: metricsURL)
    }
}
