import Core
import Foundation
import OpenCLDevice
import ReferenceDevice

/// The known-answer self-check: before gputrain trains on an OpenCL device for the first time,
/// it runs every kernel family and define set that training there uses (`KernelCheckCases`) at
/// shapes crossing every blocking boundary, against the reference device. A device whose
/// driver computes something else (a compiler bug, a kernel that relies on what the standard
/// leaves open) is refused before the first step, instead of training on wrong numbers.
///
/// The outcome is remembered per device, driver, gputrain version, kernel sources and tuning
/// (`SelfCheckRecords`), so the check runs once for each.
public enum SelfCheck {
    /// The outcome of one check.
    public struct Outcome: Codable, Equatable, Sendable {
        /// The first case that disagreed, nil when all agreed.
        public var failedKernel: String?
        /// How it disagreed: the output, the element, the values.
        public var detail: String?
        /// Cases run.
        public var cases: Int
        public var seconds: Double
        /// When it ran (ISO 8601).
        public var checked: String

        public var passed: Bool { failedKernel == nil }
    }

    /// Runs every case for `device`'s tuning (those whose name starts with `only`, when given)
    /// on it and on the reference device, stopping at the first disagreement; `progress` sees
    /// each case's name and whether it agreed.
    public static func run(_ device: OpenCLDevice, only: String? = nil, progress: ((String, Bool) -> Void)? = nil)
        throws -> Outcome
    {
        let started = Date()
        let cases = KernelCheckCases.all(for: device.tuning).filter { only.map($0.kernel.hasPrefix) ?? true }
        let reference = ReferenceDevice()
        var outcome = Outcome(
            failedKernel: nil, detail: nil, cases: 0, seconds: 0, checked: ISO8601DateFormatter().string(from: started))
        for check in cases {
            let got = try check.run(device)
            let expected = try check.run(reference)
            outcome.cases += 1
            let mismatch = firstMismatch(got, expected)
            progress?(check.kernel, mismatch == nil)
            if let mismatch {
                outcome.failedKernel = check.kernel
                outcome.detail = mismatch
                break
            }
        }
        outcome.seconds = Date().timeIntervalSince(started)
        return outcome
    }

    /// Where `got` differs from `expected` beyond summation-order rounding (a relative 2·10⁻³ of
    /// the output's largest magnitude; NaN only where the reference has NaN), or nil. A wrong tile,
    /// slice or row is off by the size of the values themselves, far above this.
    static func firstMismatch(_ got: [[Float]], _ expected: [[Float]]) -> String? {
        guard got.count == expected.count else { return "\(got.count) outputs instead of \(expected.count)" }
        for (output, (values, reference)) in zip(got, expected).enumerated() {
            guard values.count == reference.count else {
                return "output \(output) has \(values.count) values instead of \(reference.count)"
            }
            let scale = reference.lazy.filter(\.isFinite).map(abs).max() ?? 0
            let tolerance = 2e-3 * max(scale, 1e-3)
            for (index, (value, wanted)) in zip(values, reference).enumerated() {
                let agrees =
                    wanted.isNaN ? value.isNaN : wanted.isInfinite ? value == wanted : abs(value - wanted) <= tolerance
                if !agrees { return "output \(output), element \(index): \(value) where the reference gives \(wanted)" }
            }
        }
        return nil
    }

    /// Throws unless `device` may train: the reference device always may; an OpenCL device when
    /// its remembered outcome (or a check run now and remembered) passed, or when `skip` (the
    /// user's `--skip-self-check`). Returns a line saying which, for the run's log.
    public static func requireForTraining(
        _ device: Device, skip: Bool, records: SelfCheckRecords = .standard(),
        progress: ((String, Bool) -> Void)? = nil
    ) throws -> String {
        guard let device = device as? OpenCLDevice else { return "self-check: not needed on \(device.name)" }
        if skip { return "self-check: skipped (--skip-self-check); results on \(device.name) are not verified" }
        let key = SelfCheckRecords.key(for: device)
        let outcome: Outcome
        let note: String
        if let remembered = records.outcome(for: key) {
            outcome = remembered
            note = "self-check: passed on \(remembered.checked) (\(remembered.cases) kernels)"
        } else {
            outcome = try run(device, progress: progress)
            try records.remember(outcome, for: key)
            note = String(
                format: "self-check: %d kernels agree with the reference device (%.1f s)", outcome.cases,
                outcome.seconds)
        }
        guard let kernel = outcome.failedKernel else { return note }
        throw DeviceError.invalidArgument(
            operation: "self-check",
            message: "\(device.name) (\(device.info.platform), driver \(device.info.driverVersion)) disagrees with the "
                + "reference device in \(kernel): \(outcome.detail ?? "")\n"
                + "Training on it would give wrong results. Try the other kernel variant (--kernels "
                + "\(device.tuning.variant == .cpu ? "gpu" : "cpu")), --device reference, or "
                + "--skip-self-check to train anyway at your own risk. (Remembered in \(records.url.path).)")
    }
}
