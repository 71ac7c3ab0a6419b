import Core
import Foundation
import OpenCLDevice
import ReferenceDevice

/// Turns a `--device` choice into a `Device`: the only module that knows the concrete backends.
public enum DeviceFactory {
    /// The environment variable read when no `--device` is given.
    public static let environmentVariable = "GPUTRAIN_DEVICE"

    /// `reference` gives the plain-Swift device; anything else (an index, a name substring,
    /// or nothing for the default: first GPU, else PoCL's CPU) an OpenCL device.
    public static func make(
        _ selector: String?, profiling: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Device {
        let choice = selector ?? environment[environmentVariable]
        if choice?.lowercased() == "reference" { return ReferenceDevice() }
        return try OpenCLDevice(selector: choice, profiling: profiling)
    }
}
