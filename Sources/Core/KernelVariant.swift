/// Which variant of every kernel family a device runs: the GPU variants (wide work-groups of
/// scalar work-items sharing tiles through local memory) or the CPU variants (a few work-items
/// with wide vectors, reading rows in place), or `auto`, which lets the device's type decide.
///
/// Chosen by `--kernels`, else a recipe's `kernels:`, else the `GPUTRAIN_KERNELS` environment
/// variable, else `auto`. Either variant runs on any device; they differ in speed and in the
/// order floats are summed, so a run is bit-identical only with the same variant.
public enum KernelVariant: String, CaseIterable, Sendable, Codable {
    case auto, cpu, gpu

    /// The environment variable read when neither the command line nor the recipe chooses.
    public static let environmentVariable = "GPUTRAIN_KERNELS"

    /// The valid values, for error messages: "auto, cpu or gpu".
    public static var choices: String { "auto, cpu or gpu" }

    /// `text`, given by `source` (an option, a key, an environment variable); an unknown value is
    /// an error naming the source, the value and the valid values.
    public static func parse(_ text: String, source: String) throws -> KernelVariant {
        guard let variant = KernelVariant(rawValue: text.lowercased()) else {
            throw DeviceError.invalidArgument(
                operation: source, message: "'\(text)' is not a kernel variant; choose \(choices)")
        }
        return variant
    }

    /// The variant `environment` names in `GPUTRAIN_KERNELS`, else `auto`.
    public static func fromEnvironment(_ environment: [String: String]) throws -> KernelVariant {
        guard let text = environment[environmentVariable], !text.isEmpty else { return .auto }
        return try parse(text, source: environmentVariable)
    }

    /// Whether a device of OpenCL type `deviceType` ("cpu", "gpu", …) runs the GPU variants.
    public func usesGPUKernels(deviceType: String) -> Bool {
        switch self {
        case .gpu: return true
        case .cpu: return false
        case .auto: return deviceType != "cpu"
        }
    }
}
