/// Checks shared by every device, so each operation rejects bad arguments with the same words.
public enum BufferChecks {
    /// Throws `shapeMismatch` unless `buffer` holds at least `count` elements of `dtype`.
    public static func require(
        _ buffer: DeviceBuffer, holds count: Int, of dtype: DType = .float32, in operation: String
    ) throws {
        guard buffer.dtype == dtype else {
            throw DeviceError.invalidArgument(
                operation: operation, message: "buffer '\(buffer.label)' is \(buffer.dtype), expected \(dtype)")
        }
        guard buffer.count >= count else {
            throw DeviceError.shapeMismatch(
                operation: operation + " ('\(buffer.label)')", lhs: [buffer.count], rhs: [count])
        }
    }

    /// Throws `invalidArgument` unless every size is positive.
    public static func requirePositive(_ sizes: [String: Int], in operation: String) throws {
        for (name, value) in sizes.sorted(by: { $0.key < $1.key }) where value <= 0 {
            throw DeviceError.invalidArgument(operation: operation, message: "\(name) must be positive, got \(value)")
        }
    }
}
