import Foundation

/// Everything that can go wrong below the tensor API, with messages that say what to do.
public enum DeviceError: Error, CustomStringConvertible, Equatable {
    /// Two operands of `operation` do not fit together.
    case shapeMismatch(operation: String, lhs: [Int], rhs: [Int])
    /// An argument is outside what the operation supports.
    case invalidArgument(operation: String, message: String)
    /// A call into the device's API (OpenCL's, for the OpenCL device) failed with `status`
    /// while running `operation`.
    case backendCall(call: String, status: String, operation: String)
    /// The device has no memory left for a buffer.
    case outOfMemory(label: String, bytes: Int, inUse: Int)
    /// A kernel file did not compile; `log` is the compiler's build log.
    case kernelBuildFailed(file: String, options: String, log: String)
    /// The backend found no platform to run on; `advice` says what to install.
    case noPlatform(advice: String)
    /// `--device` matched no device.
    case deviceNotFound(selector: String, available: [String])
    /// A buffer made by one device was passed to another.
    case foreignBuffer(operation: String, label: String)

    public var description: String {
        switch self {
        case .shapeMismatch(let operation, let lhs, let rhs):
            return "\(operation): shapes \(lhs) and \(rhs) do not match"
        case .invalidArgument(let operation, let message):
            return "\(operation): \(message)"
        case .backendCall(let call, let status, let operation):
            return "\(call) failed with \(status) during \(operation)"
        case .outOfMemory(let label, let bytes, let inUse):
            return "out of device memory allocating '\(label)' (\(ByteCount(bytes))); "
                + "\(ByteCount(inUse)) already in use. Use a smaller batch or model, or another device (--device)."
        case .kernelBuildFailed(let file, let options, let log):
            return "kernel \(file) failed to build with options '\(options)':\n\(log)"
        case .noPlatform(let advice):
            return advice
        case .deviceNotFound(let selector, let available):
            return "no device matches '\(selector)'. Available: "
                + (available.isEmpty ? "none" : available.joined(separator: "; "))
                + ". Use an index or a name substring from `gputrain devices`, or `reference`."
        case .foreignBuffer(let operation, let label):
            return "\(operation): buffer '\(label)' belongs to another device"
        }
    }
}

extension DeviceError {
    /// `ids[position]` = `id` names no row of a table of `rows` rows (an embedding lookup or its
    /// gradient). The reference device throws it from the call; the OpenCL device from its next
    /// read or synchronize, as its kernels find the id (see `OpenCLDevice`).
    public static func idOutOfRange(operation: String, id: Int32, position: Int, rows: Int) -> DeviceError {
        .invalidArgument(
            operation: operation, message: "id \(id) at position \(position) is outside the table's \(rows) rows")
    }

    /// The target of `row` is neither a column in 0..<`columns` nor `ignoreIndex` (a cross-entropy
    /// loss or its gradient); thrown as `idOutOfRange` is.
    public static func targetOutOfRange(
        operation: String, target: Int32, row: Int, columns: Int, ignoreIndex: Int32
    ) -> DeviceError {
        .invalidArgument(
            operation: operation,
            message:
                "target \(target) of row \(row) is outside 0..<\(columns) and is not the ignore index \(ignoreIndex)")
    }
}

/// A byte count printed for people (e.g. "1.50 GiB").
public struct ByteCount: CustomStringConvertible, Sendable {
    public let bytes: Int
    public init(_ bytes: Int) { self.bytes = bytes }
    public var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.2f %@", value, units[unit])
    }
}
