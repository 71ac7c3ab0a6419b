import Core
import Foundation
import OpenCLDevice

/// What `gputrain devices` prints: every OpenCL device, with the default marked.
public struct DeviceListing {
    public let devices: [OpenCLDeviceInfo]
    public let defaultIndex: Int?

    /// Enumerates the installed OpenCL platforms; `DeviceError.noOpenCLPlatform` when there is none.
    public init() throws {
        devices = try OpenCLPlatforms.list()
        defaultIndex = OpenCLPlatforms.defaultIndex(in: devices)
    }

    /// One JSON array of objects with the keys `index`, `platform`, `name`, `type`, `vendor`,
    /// `compute_units`, `global_mem_bytes`, `opencl_c_version`, `default`.
    public func json() throws -> String {
        let objects: [[String: Any]] = devices.map { d in
            [
                "index": d.index, "platform": d.platform, "name": d.name, "type": d.type, "vendor": d.vendor,
                "compute_units": d.computeUnits, "global_mem_bytes": d.globalMemoryBytes,
                "opencl_c_version": d.openCLCVersion, "default": d.index == defaultIndex,
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// A table for people, one device a line, `*` marking the default.
    public func text() -> String {
        var lines = ["   #  type   compute units  memory       OpenCL C          platform / name"]
        for d in devices {
            let mark = d.index == defaultIndex ? "*" : " "
            lines.append(
                "\(mark) \(pad(String(d.index), 2))  \(pad(d.type, 5))  \(pad(String(d.computeUnits), 13))  "
                    + "\(pad(ByteCount(d.globalMemoryBytes).description, 11))  \(pad(d.openCLCVersion, 16))  "
                    + "\(d.platform) / \(d.name)")
        }
        lines.append(
            "* default (first GPU, else the first device). Choose with --device INDEX|NAME or \(DeviceFactory.environmentVariable); "
                + "--device reference runs the plain-Swift reference instead.")
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
