import Foundation

/// What `gputrain bench train` measured. Its JSON form (`jsonLine`) has exactly the keys
/// `preset`, `ms_per_step`, `tokens_per_s`, `mfu`, `peak_device_bytes`, `peak_rss_bytes` and
/// `device`; the other fields are for the text report.
public struct TrainBenchmarkResult: JSONLineEncodable {
    /// The preset's name, or the recipe's run name.
    public var preset: String
    /// Median milliseconds of a whole step (until the device finished it).
    public var msPerStep: Double
    public var tokensPerSecond: Double
    /// Model FLOPs utilisation: model FLOPs per second over the peak (a fraction).
    public var mfu: Double
    /// The device's peak allocation during the run, and the process's peak resident memory.
    public var peakDeviceBytes: Int
    public var peakRSSBytes: Int
    public var device: String

    /// Each timed step's milliseconds, in order.
    public var stepMilliseconds: [Double]
    /// Mean loss of the last step (about ln V on random tokens).
    public var loss: Double
    /// Model FLOPs per token (see `TrainBenchmarkShape.flopsPerToken`).
    public var flopsPerToken: Double
    /// The peak the MFU is relative to, and whether it was measured (else quoted).
    public var peakGFLOPS: Double
    public var peakIsMeasured: Bool
    public var parameterCount: Int
    /// Per-kernel times over the timed steps, slowest first (when profiled).
    public var profile: [KernelTime]?

    enum CodingKeys: String, CodingKey {
        case preset
        case msPerStep = "ms_per_step"
        case tokensPerSecond = "tokens_per_s"
        case mfu
        case peakDeviceBytes = "peak_device_bytes"
        case peakRSSBytes = "peak_rss_bytes"
        case device
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(preset, forKey: .preset)
        try container.encode(rounded(msPerStep, 2), forKey: .msPerStep)
        try container.encode(rounded(tokensPerSecond, 1), forKey: .tokensPerSecond)
        try container.encode(rounded(mfu, 5), forKey: .mfu)
        try container.encode(peakDeviceBytes, forKey: .peakDeviceBytes)
        try container.encode(peakRSSBytes, forKey: .peakRSSBytes)
        try container.encode(device, forKey: .device)
    }

    /// The result for people, a few lines.
    public var text: String {
        let mebibyte = 1024.0 * 1024
        let steps = stepMilliseconds.count
        return [
            "\(preset) on \(device): \(String(format: "%.1f", msPerStep)) ms/step (median of \(steps)), "
                + "\(String(format: "%.0f", tokensPerSecond)) tokens/s, loss \(String(format: "%.3f", loss))",
            String(
                format: "MFU %.1f%% (%.1f MFLOP/token against %.1f GFLOP/s, %@)", 100 * mfu, flopsPerToken / 1e6,
                peakGFLOPS,
                peakIsMeasured ? "measured matmul" : "quoted"),
            String(
                format: "peak device memory %.1f MiB, peak resident memory %.1f MiB, %d parameters",
                Double(peakDeviceBytes) / mebibyte, Double(peakRSSBytes) / mebibyte, parameterCount),
        ].joined(separator: "\n")
    }

    /// The per-kernel table (nil without a profile): per step, each kernel's milliseconds,
    /// launches and share of the step, then the time outside kernels (host work and waits).
    public var profileTable: String? {
        guard let profile else { return nil }
        let steps = Double(max(stepMilliseconds.count, 1))
        let stepMs = stepMilliseconds.reduce(0, +) / steps
        let width = max(24, profile.map(\.kernel.count).max() ?? 0)
        func row(_ name: String, _ ms: Double, _ launches: String) -> String {
            name.padding(toLength: width, withPad: " ", startingAt: 0) + String(format: " %10.2f ", ms)
                + String(repeating: " ", count: max(0, 9 - launches.count)) + launches
                + String(format: " %6.1f%%", stepMs > 0 ? 100 * ms / stepMs : 0)
        }
        var lines = ["kernel".padding(toLength: width, withPad: " ", startingAt: 0) + "   ms/step  launches  share"]
        for entry in profile {
            lines.append(
                row(entry.kernel, entry.seconds * 1000 / steps, String(format: "%.0f", Double(entry.launches) / steps)))
        }
        let kernelMs = profile.reduce(0) { $0 + $1.seconds } * 1000 / steps
        let launches = profile.reduce(0) { $0 + $1.launches }
        lines.append(row("all kernels", kernelMs, String(format: "%.0f", Double(launches) / steps)))
        lines.append(row("outside kernels", stepMs - kernelMs, ""))
        lines.append(
            "(mean of \(stepMilliseconds.count) profiled steps: \(String(format: "%.1f", stepMs)) ms; "
                + "profiling waits for every kernel, so host work does not overlap the device)")
        return lines.joined(separator: "\n")
    }
}
