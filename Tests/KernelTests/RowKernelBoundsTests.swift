import Core
import OpenCLDevice
import TestSupport
import XCTest

/// The row kernels (softmax.cl, normalization.cl) must write their own rows and nothing else.
/// Each output here is longer than the operation needs and its tail holds a sentinel, which
/// must survive. A store past a row's end lands in the next row, where it races with that row's
/// work-group and fails now and then; past the last row it lands in the tail every time.
final class RowKernelBoundsTests: XCTestCase {
    private let sentinel: Float = 1234
    private let padding = 16
    private let rows = 3
    /// Row lengths with and without leftover columns after the last full vector.
    private let columnCounts = [1, 7, 8, 129]

    func testSoftmaxWritesOnlyItsRows() throws {
        let harness = try OracleHarness()
        try checkSoftmax(harness.openCL)
        try harness.withGPUTuning { try checkSoftmax(harness.openCL) }
    }

    func testNormalizationWritesOnlyItsRows() throws {
        let harness = try OracleHarness()
        try checkNormalization(harness.openCL)
        try harness.withGPUTuning { try checkNormalization(harness.openCL) }
    }

    // MARK: Helpers

    private func checkSoftmax(_ device: OpenCLDevice) throws {
        var random = TestRandom(seed: 21)
        for columns in columnCounts {
            let count = rows * columns
            let x = try OracleHarness.buffer(device, random.floats(count, in: -4...4), "x")
            let dy = try OracleHarness.buffer(device, random.floats(count), "dy")
            for log in [false, true] {
                let label = "\(rows)×\(columns) log \(log)"
                let y = try padded(device, count)
                try device.softmax(x, out: y, rows: rows, columns: columns, log: log)
                try assertTailIntact(device, y, count, "softmax \(label)")
                let dx = try padded(device, count)
                try device.softmaxBackward(y: y, dy: dy, dx: dx, rows: rows, columns: columns, log: log)
                try assertTailIntact(device, dx, count, "softmaxBackward \(label)")
            }
            let targets = try OracleHarness.buffer(device, ints: random.ints(rows, below: columns), "targets")
            let losses = try padded(device, rows)
            let logSumExp = try padded(device, rows)
            try device.crossEntropy(
                logits: x, targets: targets, losses: losses, logSumExp: logSumExp,
                rows: rows, columns: columns, ignoreIndex: -100)
            let dLogits = try padded(device, count)
            try device.crossEntropyBackward(
                logits: x, targets: targets, logSumExp: logSumExp, dLosses: dy, dLogits: dLogits,
                rows: rows, columns: columns, ignoreIndex: -100)
            for (buffer, valid, name) in [
                (losses, rows, "losses"), (logSumExp, rows, "logSumExp"), (dLogits, count, "dLogits"),
            ] {
                try assertTailIntact(device, buffer, valid, "crossEntropy \(rows)×\(columns) \(name)")
            }
        }
    }

    private func checkNormalization(_ device: OpenCLDevice) throws {
        var random = TestRandom(seed: 22)
        for columns in columnCounts {
            let count = rows * columns
            let x = try OracleHarness.buffer(device, random.floats(count, in: -2...3), "x")
            let weight = try OracleHarness.buffer(device, random.floats(columns, in: 0.5...1.5), "weight")
            let bias = try OracleHarness.buffer(device, random.floats(columns), "bias")
            let dy = try OracleHarness.buffer(device, random.floats(count), "dy")
            let (y, mean, rstd) = (try padded(device, count), try padded(device, rows), try padded(device, rows))
            let (dx, dWeight, dBias) = (
                try padded(device, count), try padded(device, columns), try padded(device, columns)
            )
            try device.layerNorm(
                x, weight: weight, bias: bias, out: y, mean: mean, rstd: rstd, rows: rows, columns: columns,
                epsilon: 1e-5)
            try device.layerNormBackward(
                x, weight: weight, mean: mean, rstd: rstd, dy: dy, dx: dx, dWeight: dWeight, dBias: dBias,
                rows: rows, columns: columns)
            let layerNormOutputs = [
                (y, count), (mean, rows), (rstd, rows), (dx, count), (dWeight, columns), (dBias, columns),
            ]
            for (index, (buffer, valid)) in layerNormOutputs.enumerated() {
                try assertTailIntact(device, buffer, valid, "layerNorm \(rows)×\(columns) output \(index)")
            }
            let (rmsY, rmsRstd, rmsDx, rmsDWeight) = (
                try padded(device, count), try padded(device, rows), try padded(device, count),
                try padded(device, columns)
            )
            try device.rmsNorm(x, weight: weight, out: rmsY, rstd: rmsRstd, rows: rows, columns: columns, epsilon: 1e-5)
            try device.rmsNormBackward(
                x, weight: weight, rstd: rmsRstd, dy: dy, dx: rmsDx, dWeight: rmsDWeight, rows: rows, columns: columns)
            for (index, (buffer, valid)) in [(rmsY, count), (rmsRstd, rows), (rmsDx, count), (rmsDWeight, columns)]
                .enumerated()
            {
                try assertTailIntact(device, buffer, valid, "rmsNorm \(rows)×\(columns) output \(index)")
            }
        }
    }

    /// A buffer of `count` + `padding` floats, all the sentinel.
    private func padded(_ device: Device, _ count: Int) throws -> DeviceBuffer {
        try OracleHarness.buffer(device, [Float](repeating: sentinel, count: count + padding), "output")
    }

    /// Checks that the elements of `buffer` from `valid` on still hold the sentinel.
    private func assertTailIntact(
        _ device: Device, _ buffer: DeviceBuffer, _ valid: Int, _ label: String, line: UInt = #line
    ) throws {
        let tail = try device.readFloats(buffer)[valid...]
        if let index = tail.firstIndex(where: { $0.bitPattern != sentinel.bitPattern }) {
            XCTFail("\(label) wrote \(tail[index]) at \(index), past its \(valid) elements", line: line)
        }
    }
}
