import Core
import Foundation
import OpenCLDevice
import ReferenceDevice

/// Turns a `--device` choice into a `Device`: the only module that knows the concrete backends.
public enum DeviceFactory {
    /// The environment variable read when no `--device` is given.
    public static let environmentVariable = "GPUTRAIN_DEVICE"

    /// `reference` gives the plain-Swift device (which has no kernel variants); anything else
    /// (an index, a name substring, or nothing for the default: first GPU, else PoCL's CPU) an
    /// OpenCL device running the `kernels` variants (`nil`: `GPUTRAIN_KERNELS`, else `auto`).
    /// An unknown `GPUTRAIN_KERNELS` is an error before any device work.
    public static func make(
        _ selector: String?, kernels: KernelVariant? = nil, profiling: Bool = false,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> Device {
        let variant = try kernels ?? KernelVariant.fromEnvironment(environment)
        let choice = selector ?? environment[environmentVariable]
        if choice?.lowercased() == "reference" { return ReferenceDevice() }
        return try OpenCLDevice(selector: choice, profiling: profiling, kernels: variant)
    }
}
