import Core
import Foundation

/// Softmax, log-softmax, their gradient and the fused cross-entropy loss, row by row.
/// The executable specification of `Kernels/softmax.cl`; sums run in Double so that the
/// oracle is more accurate than the float32 kernels it checks.
extension ReferenceDevice {
    public func softmax(_ x: DeviceBuffer, out: DeviceBuffer, rows: Int, columns: Int, log: Bool) throws {
        let operation = "softmax"
        try BufferChecks.requirePositive(["rows": rows, "columns": columns], in: operation)
        let input = try floats(x, rows * columns, operation)
        var output = input
        for row in 0..<rows {
            let range = row * columns..<(row + 1) * columns
            let shift = Self.logSumExp(input[range])
            for i in range {
                let logProbability = Double(input[i]) - shift
                output[i] = Float(log ? logProbability : Foundation.exp(logProbability))
            }
        }
        try store(output, out, operation)
    }

    public func softmaxBackward(y: DeviceBuffer, dy: DeviceBuffer, dx: DeviceBuffer, rows: Int, columns: Int, log: Bool)
        throws
    {
        let operation = "softmaxBackward"
        try BufferChecks.requirePositive(["rows": rows, "columns": columns], in: operation)
        let output = try floats(y, rows * columns, operation)
        let outputGradient = try floats(dy, rows * columns, operation)
        var inputGradient = [Float](repeating: 0, count: rows * columns)
        for row in 0..<rows {
            let range = row * columns..<(row + 1) * columns
            if log {
                // y = log p: dx = dy − p·Σ dy.
                let total = range.reduce(0.0) { $0 + Double(outputGradient[$1]) }
                for i in range {
                    inputGradient[i] = Float(Double(outputGradient[i]) - Foundation.exp(Double(output[i])) * total)
                }
            } else {
                // y = p: dx = p⊙(dy − Σ dy⊙p).
                let total = range.reduce(0.0) { $0 + Double(outputGradient[$1]) * Double(output[$1]) }
                for i in range {
                    inputGradient[i] = Float(Double(output[i]) * (Double(outputGradient[i]) - total))
                }
            }
        }
        try store(inputGradient, dx, operation)
    }

    public func crossEntropy(
        logits: DeviceBuffer, targets: DeviceBuffer, losses: DeviceBuffer, logSumExp: DeviceBuffer,
        rows: Int, columns: Int, ignoreIndex: Int32
    ) throws {
        let operation = "crossEntropy"
        try BufferChecks.requirePositive(["rows": rows, "columns": columns], in: operation)
        let scores = try floats(logits, rows * columns, operation)
        let labels = try ints(targets, rows, operation)
        var rowLosses = [Float](repeating: 0, count: rows)
        var rowLogSumExp = [Float](repeating: 0, count: rows)
        for row in 0..<rows {
            let lse = Self.logSumExp(scores[row * columns..<(row + 1) * columns])
            rowLogSumExp[row] = Float(lse)
            if let target = try Self.target(
                labels[row], row: row, columns: columns, ignoreIndex: ignoreIndex, operation)
            {
                rowLosses[row] = Float(lse - Double(scores[row * columns + target]))
            }
        }
        try store(rowLosses, losses, operation)
        try store(rowLogSumExp, logSumExp, operation)
    }

    public func crossEntropyBackward(
        logits: DeviceBuffer, targets: DeviceBuffer, logSumExp: DeviceBuffer, dLosses: DeviceBuffer,
        dLogits: DeviceBuffer, rows: Int, columns: Int, ignoreIndex: Int32
    ) throws {
        let operation = "crossEntropyBackward"
        try BufferChecks.requirePositive(["rows": rows, "columns": columns], in: operation)
        let scores = try floats(logits, rows * columns, operation)
        let labels = try ints(targets, rows, operation)
        let rowLogSumExp = try floats(logSumExp, rows, operation)
        let lossGradient = try floats(dLosses, rows, operation)
        var scoreGradient = [Float](repeating: 0, count: rows * columns)
        for row in 0..<rows {
            guard
                let target = try Self.target(
                    labels[row], row: row, columns: columns, ignoreIndex: ignoreIndex, operation)
            else { continue }
            for column in 0..<columns {
                let probability = Foundation.exp(Double(scores[row * columns + column]) - Double(rowLogSumExp[row]))
                let oneHot: Double = column == target ? 1 : 0
                scoreGradient[row * columns + column] = Float(Double(lossGradient[row]) * (probability - oneHot))
            }
        }
        try store(scoreGradient, dLogits, operation)
    }

    /// log Σ exp(x) of one row, with the maximum taken out first so that exp cannot overflow.
    static func logSumExp(_ row: ArraySlice<Float>) -> Double {
        let maximum = Double(row.max() ?? 0)
        let sum = row.reduce(0.0) { $0 + Foundation.exp(Double($1) - maximum) }
        return maximum + Foundation.log(sum)
    }

    /// The column that `label` selects, `nil` for the ignore index; any other label outside
    /// the row is the caller's error.
    static func target(_ label: Int32, row: Int, columns: Int, ignoreIndex: Int32, _ operation: String) throws -> Int? {
        if label == ignoreIndex { return nil }
        guard 0..<columns ~= Int(label) else {
            throw DeviceError.targetOutOfRange(
                operation: operation, target: label, row: row, columns: columns, ignoreIndex: ignoreIndex)
        }
        return Int(label)
    }
}
