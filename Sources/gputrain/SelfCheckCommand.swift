import ArgumentParser
import Core
import Foundation
import OpenCLDevice
import Runtime

/// `gputrain selfcheck`: runs the known-answer self-check on an OpenCL device and prints each
/// kernel's verdict; `--full` checks both kernel variants. The outcome is remembered as
/// training's own check would remember it.
struct SelfCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Check the device's kernels against the reference device (training runs this once per device).")

    @OptionGroup var deviceOptions: DeviceOptions

    @Flag(help: "Check both kernel variants (cpu and gpu), not only the one --kernels or auto picks.")
    var full = false

    @Flag(help: "Print one JSON object: the device and, per variant, the cases, seconds and any failure.")
    var json = false

    func run() throws {
        let variants: [KernelVariant?] = full ? [.cpu, .gpu] : [deviceOptions.kernels]
        var results: [[String: Any]] = []
        var failed = false
        var described: [String: Any] = [:]
        for variant in variants {
            guard let device = try DeviceFactory.make(deviceOptions.device, kernels: variant) as? OpenCLDevice else {
                throw ValidationError(
                    "the self-check compares an OpenCL device with the reference device; choose one with --device")
            }
            described = ["device": device.name, "platform": device.info.platform, "driver": device.info.driverVersion]
            let design = device.tuning.variant.rawValue
            if !json {
                print(
                    "\(device.name) (\(device.info.platform), driver \(device.info.driverVersion)), \(design) kernels:")
            }
            let outcome = try SelfCheck.run(device) { kernel, agrees in
                if !json { print("  \(agrees ? "ok  " : "FAIL") \(kernel)") }
            }
            try SelfCheckRecords.standard().remember(outcome, for: SelfCheckRecords.key(for: device))
            failed = failed || !outcome.passed
            var result: [String: Any] = ["kernels": design, "cases": outcome.cases, "seconds": outcome.seconds]
            if let kernel = outcome.failedKernel {
                result["failed"] = ["kernel": kernel, "detail": outcome.detail ?? ""]
            }
            results.append(result)
            if !json {
                print(
                    outcome.passed
                        ? String(
                            format: "  %d kernels agree with the reference device (%.1f s)", outcome.cases,
                            outcome.seconds)
                        : "  disagrees: \(outcome.detail ?? "")")
            }
        }
        if json {
            described["variants"] = results
            let data = try JSONSerialization.data(withJSONObject: described, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
        if failed { throw ExitCode(1) }
    }
}
