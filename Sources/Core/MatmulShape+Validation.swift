/// The argument checks of `Device.matmul`, shared by every device so that each rejects a bad
/// product with the same words.
extension MatmulShape {
    /// The product as an error message names it, with the stored shape of each operand
    /// ("ᵀ" marks a transposed one), e.g. `matmul 4×[7×33]·[129×33]ᵀ`.
    public var operationName: String {
        let a = transposeA ? "[\(k)×\(m)]ᵀ" : "[\(m)×\(k)]"
        let b = transposeB ? "[\(n)×\(k)]ᵀ" : "[\(k)×\(n)]"
        return "matmul " + (batch > 1 ? "\(batch)×" : "") + a + "·" + b
    }

    /// Throws unless the sizes are positive, the strides non-negative, the batch items of C do not
    /// overlap (a C stride of 0 is allowed: the items then add into one C, in order), and `a`,
    /// `b` and `c` hold the elements the product reads and writes.
    public func validate(a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer) throws {
        let operation = operationName
        try BufferChecks.requirePositive(["batch": batch, "m": m, "n": n, "k": k], in: operation)
        for (name, stride) in [("strideA", strideA), ("strideB", strideB), ("strideC", strideC)] where stride < 0 {
            throw DeviceError.invalidArgument(
                operation: operation, message: "\(name) must not be negative, got \(stride)")
        }
        if batch > 1, strideC > 0, strideC < m * n {
            throw DeviceError.invalidArgument(
                operation: operation,
                message: "strideC \(strideC) makes the \(m)×\(n) outputs overlap; use 0 or at least \(m * n)")
        }
        let counts = requiredCounts
        try BufferChecks.require(a, holds: counts.a, in: operation)
        try BufferChecks.require(b, holds: counts.b, in: operation)
        try BufferChecks.require(c, holds: counts.c, in: operation)
    }
}
