import Formats
import Foundation
import OpenCLDevice

/// The self-check outcomes gputrain remembers, in one JSON file (by default
/// `$XDG_CACHE_HOME/gputrain/selfcheck.json`, else `~/.cache/gputrain/selfcheck.json`): key →
/// `SelfCheck.Outcome`. A key names the device, its driver, gputrain's version and a fingerprint
/// of the kernel sources and tuning, so a new driver, version, kernel edit or tuning is checked anew.
public struct SelfCheckRecords {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// The file under the user's cache folder.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> SelfCheckRecords
    {
        let cache =
            environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return SelfCheckRecords(url: cache.appendingPathComponent("gputrain/selfcheck.json"))
    }

    /// The key of `device` as it is now: platform, name, driver, version, fingerprint.
    public static func key(for device: OpenCLDevice) -> String {
        let info = device.info
        return "\(info.platform) | \(info.name) | driver \(info.driverVersion) | gputrain \(GPUTrainVersion.current) | "
            + fingerprint(device)
    }

    /// FNV-1a (64 bits, hex) over the kernel sources in name order and the tuning's description.
    static func fingerprint(_ device: OpenCLDevice) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let text =
            device.kernelSources.sorted { $0.key < $1.key }.map { "\($0.key)\n\($0.value)" }.joined()
            + String(describing: device.tuning)
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(format: "%016llx", hash)
    }

    /// Every remembered outcome; an empty table when the file is missing. A damaged file is not
    /// an error: the checks run again and rewrite it.
    func all() -> [String: SelfCheck.Outcome] {
        guard let data = FileManager.default.contents(atPath: url.path),
            let table = try? JSONDecoder().decode([String: SelfCheck.Outcome].self, from: data)
        else { return [:] }
        return table
    }

    public func outcome(for key: String) -> SelfCheck.Outcome? { all()[key] }

    public func remember(_ outcome: SelfCheck.Outcome, for key: String) throws {
        var table = all()
        table[key] = outcome
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(table), to: url)
    }
}
