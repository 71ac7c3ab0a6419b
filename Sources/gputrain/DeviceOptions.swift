import ArgumentParser
import Core
import Runtime

extension KernelVariant: ExpressibleByArgument {}

/// The options of every command that opens a device: which device, and which kernel variants
/// it runs.
struct DeviceOptions: ParsableArguments {
    @Option(help: "Device index or name (`gputrain devices`), or `reference`.")
    var device: String?

    @Option(
        help: """
            Kernel variants: gpu, cpu, or auto (by what the device reports). Default: the recipe's \
            `kernels:`, else GPUTRAIN_KERNELS, else auto.
            """)
    var kernels: KernelVariant?

    /// Opens `--device`, else `recipeDevice`, else the default, running `--kernels`, else
    /// `recipeKernels`, else what the environment says.
    func open(recipeDevice: String = "", recipeKernels: String = "", profiling: Bool = false) throws -> Device {
        try DeviceFactory.make(
            device ?? (recipeDevice.isEmpty ? nil : recipeDevice),
            kernels: kernels ?? KernelVariant(rawValue: recipeKernels), profiling: profiling)
    }
}
