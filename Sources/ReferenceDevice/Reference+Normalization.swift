import Core
import Foundation

/// Layer normalisation and RMS normalisation over the last axis, with their gradients.
/// The executable specification of `Kernels/normalization.cl`; sums run in Double.
extension ReferenceDevice {
    public func layerNorm(
        _ x: DeviceBuffer, weight: DeviceBuffer, bias: DeviceBuffer, out: DeviceBuffer,
        mean: DeviceBuffer, rstd: DeviceBuffer, rows: Int, columns: Int, epsilon: Float
    ) throws {
        let operation = "layerNorm"
        try BufferChecks.requirePositive(["rows": rows, "columns": columns], in: operation)
        let input = try floats(x, rows * columns, operation)
        let scale = try floats(weight, columns, operation)
        let shift = try floats(bias, columns, operation)
        var output = [Float](repeating: 0, count: rows * columns)
        var rowMean = [Float](repeating: 0, count: rows)
        var rowRstd = [Float](repeating: 0, count: rows)
        for row in 0..<rows {
            let values = input[row * columns..<(row + 1) * columns].map(Double.init)
            let mu = values.reduce(0, +) / Double(columns)
            let variance = values.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(columns)
            let inverseDeviation = 1 / (variance + Double(epsilon)).squareRoot()
            rowMean[row] = Float(mu)
            rowRstd[row] = Float(inverseDeviation)
            for column in 0..<columns {
                let normalized = (values[column] - mu) * inverseDeviation
                output[row * columns + column] = Float(normalized * Double(scale[column]) + Double(shift[column]))
            }
        }
        try store(output, out, operation)
        try store(rowMean, mean, operation)
        try store(rowRstd, rstd, operation)
    }

    public func layerNormBackward(
        _ x: DeviceBuffer, weight: DeviceBuffer, mean: DeviceBuffer, rstd: DeviceBuffer, dy: DeviceBuffer,
        dx: DeviceBuffer, dWeight: DeviceBuffer, dBias: DeviceBuffer, rows: Int, columns: Int
    ) throws {
        let operation = "layerNormBackward"
        try BufferChecks.requirePositive(["rows": rows, "columns": columns], in: operation)
        let rowMean = try floats(mean, rows, operation)
        let gradients = try normBackward(
            x, weight: weight, rstd: rstd, dy: dy, rows: rows, columns: columns, operation,
            center: { rowMean[$0] })
        try store(gradients.dx, dx, operation)
        try store(gradients.dWeight, dWeight, operation)
        try store(gradients.dBias, dBias, operation)
    }

    public func rmsNorm(
        _ x: DeviceBuffer, weight: DeviceBuffer, out: DeviceBuffer, rstd: DeviceBuffer,
        rows: Int, columns: Int, epsilon: Float
    ) throws {
        let operation = "rmsNorm"
        try BufferChecks.requirePositive(["rows": rows, "columns": columns], in: operation)
        let input = try floats(x, rows * columns, operation)
        let scale = try floats(weight, columns, operation)
        var output = [Float](repeating: 0, count: rows * columns)
        var rowRstd = [Float](repeating: 0, count: rows)
        for row in 0..<rows {
            let values = input[row * columns..<(row + 1) * columns].map(Double.init)
            let meanSquare = values.reduce(0) { $0 + $1 * $1 } / Double(columns)
            let inverseRMS = 1 / (meanSquare + Double(epsilon)).squareRoot()
            rowRstd[row] = Float(inverseRMS)
            for column in 0..<columns {
                output[row * columns + column] = Float(Double(scale[column]) * (values[column] * inverseRMS))
            }
        }
        try store(output, out, operation)
        try store(rowRstd, rstd, operation)
    }

    public func rmsNormBackward(
        _ x: DeviceBuffer, weight: DeviceBuffer, rstd: DeviceBuffer, dy: DeviceBuffer,
        dx: DeviceBuffer, dWeight: DeviceBuffer, rows: Int, columns: Int
    ) throws {
        let operation = "rmsNormBackward"
        try BufferChecks.requirePositive(["rows": rows, "columns": columns], in: operation)
        let gradients = try normBackward(
            x, weight: weight, rstd: rstd, dy: dy, rows: rows, columns: columns, operation, center: nil)
        try store(gradients.dx, dx, operation)
        try store(gradients.dWeight, dWeight, operation)
    }

    /// The gradients shared by both norms, with x̂ = (x − center)·rstd and ĝ = dy⊙w:
    /// dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)), where RMS norm (no `center`) drops the mean(ĝ)
    /// term because it subtracts no mean; dWeight = Σ_rows dy⊙x̂ and dBias = Σ_rows dy.
    private func normBackward(
        _ x: DeviceBuffer, weight: DeviceBuffer, rstd: DeviceBuffer, dy: DeviceBuffer,
        rows: Int, columns: Int, _ operation: String, center: ((Int) -> Float)?
    ) throws -> (dx: [Float], dWeight: [Float], dBias: [Float]) {
        let input = try floats(x, rows * columns, operation)
        let scale = try floats(weight, columns, operation)
        let rowRstd = try floats(rstd, rows, operation)
        let outputGradient = try floats(dy, rows * columns, operation)
        var inputGradient = [Float](repeating: 0, count: rows * columns)
        var weightGradient = [Double](repeating: 0, count: columns)
        var biasGradient = [Double](repeating: 0, count: columns)
        for row in 0..<rows {
            let range = row * columns..<(row + 1) * columns
            let inverse = Double(rowRstd[row])
            let mu = Double(center?(row) ?? 0)
            let normalized = range.map { (Double(input[$0]) - mu) * inverse }
            let scaledGradient = range.map { Double(outputGradient[$0]) * Double(scale[$0 - range.lowerBound]) }
            let meanGradient = center == nil ? 0 : scaledGradient.reduce(0, +) / Double(columns)
            let meanProjection = zip(scaledGradient, normalized).reduce(0) { $0 + $1.0 * $1.1 } / Double(columns)
            for column in 0..<columns {
                let dyValue = Double(outputGradient[range.lowerBound + column])
                inputGradient[range.lowerBound + column] = Float(
                    inverse * (scaledGradient[column] - meanGradient - normalized[column] * meanProjection))
                weightGradient[column] += dyValue * normalized[column]
                biasGradient[column] += dyValue
            }
        }
        return (inputGradient, weightGradient.map(Float.init), biasGradient.map(Float.init))
    }
}
