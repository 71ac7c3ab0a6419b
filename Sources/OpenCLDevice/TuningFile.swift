import Core
import Foundation

/// Tile sizes tuned for one device, which replace the built-in table's (`DeviceTuning.forDevice`)
/// when the device opens: written by `gputrain tune`, or by hand as a documented override
/// (docs/kernels.md, "Tuning files"). One file per device and driver, by default
/// `$XDG_CONFIG_HOME/gputrain/tuning/<vendor>-<device>-<driver>.json` (else under
/// `~/.config`), or the file `GPUTRAIN_TUNING` names (`off`: none).
///
/// The sizes apply only when the device runs the variant they were tuned for (`kernels`); each
/// section is optional.
public struct TuningFile: Codable, Equatable {
    /// The device and driver it was tuned on (informative; the file name decides).
    public var device: String
    public var driver: String
    /// "cpu" or "gpu": the variant whose sizes these are.
    public var kernels: String
    public var matmul: MatmulTuning?
    public var attention: AttentionTuning?

    public static let environmentVariable = "GPUTRAIN_TUNING"

    public init(device: String, driver: String, kernels: String, matmul: MatmulTuning?, attention: AttentionTuning?) {
        self.device = device
        self.driver = driver
        self.kernels = kernels
        self.matmul = matmul
        self.attention = attention
    }

    /// Where the tuning of `info` is read from and written to; nil when `GPUTRAIN_TUNING=off`.
    public static func url(for info: OpenCLDeviceInfo, environment: [String: String]) -> URL? {
        if let named = environment[environmentVariable], !named.isEmpty {
            return named == "off" ? nil : URL(fileURLWithPath: named)
        }
        let config =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config")
        let name = [info.vendor, info.name, info.driverVersion].map(safeName).joined(separator: "-")
        return config.appendingPathComponent("gputrain/tuning/\(name).json")
    }

    /// `text` with every run of characters other than letters, digits, `.` and `_` made one `_`.
    static func safeName(_ text: String) -> String {
        var result = ""
        for character in text {
            let keep =
                character.isASCII && (character.isLetter || character.isNumber || character == "." || character == "_")
            if keep {
                result.append(character)
            } else if result.last != "_" {
                result.append("_")
            }
        }
        return result
    }

    /// The file at `url`, or nil when there is none; a file that does not parse, or sizes the
    /// device cannot run, is an error naming the file and the fix.
    static func load(_ url: URL, for info: OpenCLDeviceInfo) throws -> TuningFile? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        func fail(_ problem: String) -> DeviceError {
            .invalidArgument(
                operation: "tuning file \(url.path)",
                message: "\(problem); fix it, run `gputrain tune` again, or set \(environmentVariable)=off")
        }
        let file: TuningFile
        do {
            file = try JSONDecoder().decode(TuningFile.self, from: data)
        } catch {
            throw fail("not a gputrain tuning file (\(error))")
        }
        guard ["cpu", "gpu"].contains(file.kernels) else {
            throw fail("'kernels' must be cpu or gpu, not '\(file.kernels)'")
        }
        if let problem = file.matmul?.problem(
            localMemoryBytes: info.localMemoryBytes, maxWorkGroupSize: max(1, info.maxWorkGroupSize))
        {
            throw fail("matmul: \(problem)")
        }
        if let attention = file.attention,
            !(attention.isUsable(headDim: 8) && attention.queryGroup <= info.maxWorkGroupSize
                && attention.keyGroup <= info.maxWorkGroupSize)
        {
            throw fail("attention: groups must fit the device and tiles be positive multiples of 8")
        }
        return file
    }

    /// Writes the file (into a temporary name, then renamed), making its folder.
    public func write(to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        try encoder.encode(self).write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            throw DeviceError.invalidArgument(
                operation: "writing \(url.path)", message: String(cString: strerror(errno)))
        }
    }
}

extension DeviceTuning {
    /// This tuning with `file`'s sizes, when it was tuned for the variant this tuning runs.
    func applying(_ file: TuningFile) -> DeviceTuning {
        guard file.kernels == variant.rawValue else { return self }
        var tuning = self
        if let matmul = file.matmul { tuning.matmul = matmul }
        if let attention = file.attention { tuning.attention = attention }
        return tuning
    }
}
