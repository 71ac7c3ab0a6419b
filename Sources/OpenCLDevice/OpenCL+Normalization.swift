import Core

/// Layer and RMS normalisation with their gradients: `Kernels/normalization.cl`, specified by
/// `Reference+Normalization.swift`.
extension OpenCLDevice {
    /// Launch geometry of normalization.cl (see the file's header).
    private struct NormalizationTuning {
        /// Work-items per row and floats per vector load in the row kernels.
        var rowGroup: Int
        var vectorWidth: Int
        /// Work-items along the columns (`vectorWidth` columns each) and row lanes per column in
        /// the parameter-gradient kernels.
        var parameterColumns: Int
        var parameterLanes: Int

        var defines: [String: String] {
            [
                "NORM_WG": String(rowGroup), "NORM_VEC": String(vectorWidth),
                "NORM_PARAM_COLUMNS": String(parameterColumns), "NORM_PARAM_LANES": String(parameterLanes),
            ]
        }
    }

    /// PoCL runs a group's work-items as a loop on one core: a few work-items with float8
    /// vectors (SIMD code, 2–4× faster there) suit it. A GPU wants wide groups of scalar
    /// work-items, which coalesce.
    private var normalizationTuning: NormalizationTuning {
        rowKernelsUseCPUTuning
            ? NormalizationTuning(rowGroup: 8, vectorWidth: 8, parameterColumns: 8, parameterLanes: 1)
            : NormalizationTuning(rowGroup: 128, vectorWidth: 1, parameterColumns: 32, parameterLanes: 8)
    }

    /// Launches a row kernel of normalization.cl: one work-group per row.
    private func launchNormalizationRows(_ kernel: String, rows: Int, arguments: [KernelArgument], operation: String)
        throws
    {
        let tuning = normalizationTuning
        try launch(
            "normalization", kernel, defines: tuning.defines, global: [rows * tuning.rowGroup],
            local: [tuning.rowGroup], arguments: arguments, operation: operation)
    }

    /// Launches a column-parallel parameter-gradient kernel of normalization.cl.
    private func launchNormalizationColumns(
        _ kernel: String, columns: Int, arguments: [KernelArgument], operation: String
    ) throws {
        let tuning = normalizationTuning
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
