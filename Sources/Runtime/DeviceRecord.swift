import Core
import Formats
import Foundation
import OpenCLDevice

/// What a run trained on, kept as `device.json` in its run folder: the device, its driver, the
/// kernel tuning (variant, tile sizes, groups) and the self-check's line. Tunings decide the
/// order floats are summed in, so `--resume` on another tuning would not continue bit for bit:
/// it is refused unless `--allow-changed device`.
public struct DeviceRecord: Codable, Equatable {
    public var device: String
    public var platform: String?
    public var driver: String?
    public var gputrain: String
    public var tuning: DeviceTuning?
    public var selfCheck: String

    public static let fileName = "device.json"

    public init(device: Device, selfCheck: String) {
        self.device = device.name
        let openCL = device as? OpenCLDevice
        platform = openCL?.info.platform
        driver = openCL?.info.driverVersion
        gputrain = GPUTrainVersion.current
        tuning = openCL?.tuning
        self.selfCheck = selfCheck
    }

    /// Writes `device.json` into `folder`. When the run resumes from an earlier record, a
    /// different device or tuning is refused unless `allowedChanges` holds `device`.
    public func write(into folder: URL, resuming: Bool, allowedChanges: Set<String>) throws {
        let url = folder.appendingPathComponent(Self.fileName)
        if resuming, let data = FileManager.default.contents(atPath: url.path),
            let earlier = try? JSONDecoder().decode(DeviceRecord.self, from: data),
            earlier.device != device || earlier.tuning != tuning, !allowedChanges.contains("device")
        {
            throw ConfigError(
                source: url.path, line: nil,
                message: "the run was trained on \(earlier.device) with another kernel tuning than \(device) has now; "
                    + "resuming would not continue bit for bit. Resume on the same device and --kernels, or pass "
                    + "--allow-changed device to accept the change")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(self), to: url)
    }
}
