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
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(
            decoding: try encoder.encode(devices.map { Entry($0, isDefault: $0.index == defaultIndex) }), as: UTF8.self)
    }

    /// One device as `json()` writes it.
    private struct Entry: Encodable {
        var index: Int
        var platform, name, type, vendor: String
        var computeUnits: Int
        var globalMemBytes: Int
        var openclCVersion: String
        var isDefault: Bool

        init(_ d: OpenCLDeviceInfo, isDefault: Bool) {
            (index, platform, name, type, vendor) = (d.index, d.platform, d.name, d.type, d.vendor)
            (computeUnits, globalMemBytes, openclCVersion, self.isDefault) =
                (d.computeUnits, d.globalMemoryBytes, d.openCLCVersion, isDefault)
        }

        enum CodingKeys: String, CodingKey {
            case index, platform, name, type, vendor
            case computeUnits = "compute_units"
            case globalMemBytes = "global_mem_bytes"
            case openclCVersion = "opencl_c_version"
            case isDefault = "default"
        }
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
