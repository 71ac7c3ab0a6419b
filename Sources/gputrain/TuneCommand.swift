import ArgumentParser
import Benchmarking
import Foundation
import OpenCLDevice
import Runtime

/// `gputrain tune`: searches the device's matmul and attention tile sizes (`Autotuner`) and
/// writes the best to its tuning file, which the device layer reads from then on.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Find the fastest verified matmul and attention tile sizes for a device and save them.")

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "Timed runs per candidate and shape (the median is kept).")
    var repeats = 3

    @Flag(help: "Print each candidate as a JSON line, then {\"file\": …} with where the tuning went.")
    var json = false

    func run() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
        var environment = ProcessInfo.processInfo.environment
        // Tune from the built-in sizes, not from an earlier tuning.
        environment[TuningFile.environmentVariable] = "off"
        guard
            let device = try DeviceFactory.make(
                deviceOptions.device, kernels: deviceOptions.kernels, environment: environment) as? OpenCLDevice,
            let url = TuningFile.url(for: device.info, environment: ProcessInfo.processInfo.environment)
        else {
            throw ValidationError(
                "tune needs an OpenCL device (not reference) and a tuning file (GPUTRAIN_TUNING is off)")
        }
        let log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        log("tuning \(device.name) (\(device.info.platform), driver \(device.info.driverVersion))")
        let result = try Autotuner(device: device, repeats: repeats, log: log).run { candidate in
            if json { print(candidate.jsonLine) }
        }
        try result.file.write(to: url)
        for kernel in ["matmul", "attention"] {
            guard let (best, builtIn) = result.chosen[kernel] else { continue }
            log("\(kernel): \(best.defines) (built-in: \(builtIn.defines))")
            for (shape, seconds) in builtIn.seconds.sorted(by: { $0.key < $1.key }) {
                let tuned = best.seconds[shape] ?? seconds
                log(String(format: "  %@  %.4f s → %.4f s  (%.2f×)", shape, seconds, tuned, seconds / tuned))
            }
        }
        if json {
            let line = try JSONSerialization.data(withJSONObject: ["file": url.path], options: [.sortedKeys])
            print(String(decoding: line, as: UTF8.self))
        } else {
            print("tuning saved to \(url.path)")
        }
    }
}
