import Core

/// Softmax, its gradient and the fused cross-entropy: `Kernels/softmax.cl`, specified by
/// `Reference+Softmax.swift`.
extension OpenCLDevice {
    /// Launches a row kernel of softmax.cl: one work-group per row.
    private func launchSoftmaxRows(_ kernel: String, rows: Int, arguments: [KernelArgument], operation: String) throws {
        let tuning = self.tuning.rowKernels.softmax
        try launch(
            "softmax", kernel, defines: tuning.defines, global: [rows * tuning.rowGroup], local: [tuning.rowGroup],
            arguments: arguments, operation: operation)
    }

    /// Checks sizes and that every buffer holds `rows`·`columns` floats.
    private func checkSoftmaxMatrices(_ buffers: [DeviceBuffer], rows: Int, columns: Int, _ operation: String) throws {
        try BufferChecks.requirePositive(["rows": rows, "columns": columns], in: operation)
        for buffer in buffers { try BufferChecks.require(buffer, holds: rows * columns, in: operation) }
    }

    public func softmax(_ x: DeviceBuffer, out: DeviceBuffer, rows: Int, columns: Int, log: Bool) throws {
        let operation = "softmax"
        try checkSoftmaxMatrices([x, out], rows: rows, columns: columns, operation)
        try launchSoftmaxRows(
            "softmax_forward", rows: rows,
            arguments: [.buffer(x), .buffer(out), .int(columns), .int(log ? 1 : 0)], operation: operation)
    }

    public func softmaxBackward(y: DeviceBuffer, dy: DeviceBuffer, dx: DeviceBuffer, rows: Int, columns: Int, log: Bool)
        throws
    {
        let operation = "softmaxBackward"
        try checkSoftmaxMatrices([y, dy, dx], rows: rows, columns: columns, operation)
        try launchSoftmaxRows(
            "softmax_backward", rows: rows,
            arguments: [.buffer(y), .buffer(dy), .buffer(dx), .int(columns), .int(log ? 1 : 0)], operation: operation)
    }

    public func crossEntropy(
        logits: DeviceBuffer, targets: DeviceBuffer, losses: DeviceBuffer, logSumExp: DeviceBuffer,
        rows: Int, columns: Int, ignoreIndex: Int32
    ) throws {
        let operation = "crossEntropy"
        try checkSoftmaxMatrices([logits], rows: rows, columns: columns, operation)
        try BufferChecks.require(targets, holds: rows, of: .int32, in: operation)
        for buffer in [losses, logSumExp] { try BufferChecks.require(buffer, holds: rows, in: operation) }
        try launchSoftmaxRows(
            "cross_entropy_forward", rows: rows,
            arguments: [
                .buffer(logits), .buffer(targets), .buffer(losses), .buffer(logSumExp),
                .int(columns), .int(Int(ignoreIndex)),
            ] + idErrorArguments(operation),
            operation: operation)
    }

    public func crossEntropyBackward(
        logits: DeviceBuffer, targets: DeviceBuffer, logSumExp: DeviceBuffer, dLosses: DeviceBuffer,
        dLogits: DeviceBuffer, rows: Int, columns: Int, ignoreIndex: Int32
    ) throws {
        let operation = "crossEntropyBackward"
        try checkSoftmaxMatrices([logits, dLogits], rows: rows, columns: columns, operation)
        try BufferChecks.require(targets, holds: rows, of: .int32, in: operation)
        for buffer in [logSumExp, dLosses] { try BufferChecks.require(buffer, holds: rows, in: operation) }
        let tuning = self.tuning.rowKernels.softmax
        let vectors = (columns + tuning.vectorWidth - 1) / tuning.vectorWidth
        try launch(
            "softmax", "cross_entropy_backward", defines: tuning.defines,
            global: [roundUp(vectors, toMultipleOf: tuning.elementGroup), rows], local: [tuning.elementGroup, 1],
            arguments: [
                .buffer(logits), .buffer(targets), .buffer(logSumExp), .buffer(dLosses), .buffer(dLogits),
                .int(columns), .int(Int(ignoreIndex)),
            ] + idErrorArguments(operation),
            operation: operation)
    }
}
