import Core

/// Layer and RMS normalisation with their gradients: `Kernels/normalization.cl`, specified by
/// `Reference+Normalization.swift`.
extension OpenCLDevice {
    /// Launches a row kernel of normalization.cl: one work-group per row.
    private func launchNormalizationRows(_ kernel: String, rows: Int, arguments: [KernelArgument], operation: String)
        throws
    {
        let tuning = self.tuning.rowKernels.normalization
        try launch(
            "normalization", kernel, defines: tuning.defines, global: [rows * tuning.rowGroup],
            local: [tuning.rowGroup], arguments: arguments, operation: operation)
    }

    /// Launches a column-parallel parameter-gradient kernel of normalization.cl.
    private func launchNormalizationColumns(
        _ kernel: String, columns: Int, arguments: [KernelArgument], operation: String
    ) throws {
        let tuning = self.tuning.rowKernels.normalization
        try launch(
            "normalization", kernel, defines: tuning.defines,
            global: [
                roundUp(
                    (columns + tuning.vectorWidth - 1) / tuning.vectorWidth,
                    toMultipleOf: tuning.parameterColumns), tuning.parameterLanes,
            ],
            local: [tuning.parameterColumns, tuning.parameterLanes], arguments: arguments, operation: operation)
    }

    /// Checks the sizes and that each buffer holds its [rows, columns], [columns] or [rows] floats.
    private func checkNormalization(
        rows: Int, columns: Int, matrices: [DeviceBuffer], perColumn: [DeviceBuffer], perRow: [DeviceBuffer],
        _ operation: String
    ) throws {
        try BufferChecks.requirePositive(["rows": rows, "columns": columns], in: operation)
        for buffer in matrices { try BufferChecks.require(buffer, holds: rows * columns, in: operation) }
        for buffer in perColumn { try BufferChecks.require(buffer, holds: columns, in: operation) }
        for buffer in perRow { try BufferChecks.require(buffer, holds: rows, in: operation) }
    }

    public func layerNorm(
        _ x: DeviceBuffer, weight: DeviceBuffer, bias: DeviceBuffer, out: DeviceBuffer,
        mean: DeviceBuffer, rstd: DeviceBuffer, rows: Int, columns: Int, epsilon: Float
    ) throws {
        let operation = "layerNorm"
        try checkNormalization(
            rows: rows, columns: columns, matrices: [x, out], perColumn: [weight, bias],
            perRow: [mean, rstd], operation)
        try launchNormalizationRows(
            "layer_norm_forward", rows: rows,
            arguments: [
                .buffer(x), .buffer(weight), .buffer(bias), .buffer(out), .buffer(mean), .buffer(rstd),
                .int(columns), .float(epsilon),
            ],
            operation: operation)
    }

    public func layerNormBackward(
        _ x: DeviceBuffer, weight: DeviceBuffer, mean: DeviceBuffer, rstd: DeviceBuffer, dy: DeviceBuffer,
        dx: DeviceBuffer, dWeight: DeviceBuffer, dBias: DeviceBuffer, rows: Int, columns: Int
    ) throws {
        let operation = "layerNormBackward"
        try checkNormalization(
            rows: rows, columns: columns, matrices: [x, dy, dx],
            perColumn: [weight, dWeight, dBias], perRow: [mean, rstd], operation)
        try launchNormalizationRows(
            "layer_norm_backward_input", rows: rows,
            arguments: [
                .buffer(x), .buffer(weight), .buffer(mean), .buffer(rstd), .buffer(dy), .buffer(dx),
                .int(columns),
            ],
            operation: operation)
        try launchNormalizationColumns(
            "layer_norm_backward_params", columns: columns,
            arguments: [
                .buffer(x), .buffer(mean), .buffer(rstd), .buffer(dy), .buffer(dWeight), .buffer(dBias),
                .int(rows), .int(columns),
            ],
            operation: operation)
    }

    public func rmsNorm(
        _ x: DeviceBuffer, weight: DeviceBuffer, out: DeviceBuffer, rstd: DeviceBuffer,
        rows: Int, columns: Int, epsilon: Float
    ) throws {
        let operation = "rmsNorm"
        try checkNormalization(
            rows: rows, columns: columns, matrices: [x, out], perColumn: [weight],
            perRow: [rstd], operation)
        try launchNormalizationRows(
            "rms_norm_forward", rows: rows,
            arguments: [.buffer(x), .buffer(weight), .buffer(out), .buffer(rstd), .int(columns), .float(epsilon)],
            operation: operation)
    }

    public func rmsNormBackward(
        _ x: DeviceBuffer, weight: DeviceBuffer, rstd: DeviceBuffer, dy: DeviceBuffer,
        dx: DeviceBuffer, dWeight: DeviceBuffer, rows: Int, columns: Int
    ) throws {
        let operation = "rmsNormBackward"
        try checkNormalization(
            rows: rows, columns: columns, matrices: [x, dy, dx], perColumn: [weight, dWeight],
            perRow: [rstd], operation)
        try launchNormalizationRows(
            "rms_norm_backward_input", rows: rows,
            arguments: [.buffer(x), .buffer(weight), .buffer(rstd), .buffer(dy), .buffer(dx), .int(columns)],
            operation: operation)
        try launchNormalizationColumns(
            "rms_norm_backward_params", columns: columns,
            arguments: [.buffer(x), .buffer(rstd), .buffer(dy), .buffer(dWeight), .int(rows), .int(columns)],
            operation: operation)
    }
}
