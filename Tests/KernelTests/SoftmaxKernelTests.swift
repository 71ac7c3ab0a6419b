import Core
import OpenCLDevice
import ReferenceDevice
import TestSupport
import XCTest

/// Runs an operation on the reference device and on the OpenCL device with the same inputs and
/// compares what it returns; shared by the softmax, normalisation and optimizer kernel tests.
struct OracleHarness {
    let openCL: OpenCLDevice

    init() throws { openCL = try TestDevices.openCL.get() }

    /// A float32 buffer on `device` holding `values`.
    static func buffer(_ device: Device, _ values: [Float], _ label: String) throws -> DeviceBuffer {
        let buffer = try device.makeBuffer(count: values.count, dtype: .float32, label: label)
        try device.write(values, to: buffer)
        return buffer
    }

    /// An int32 buffer on `device` holding `values`.
    static func buffer(_ device: Device, ints values: [Int32], _ label: String) throws -> DeviceBuffer {
        let buffer = try device.makeBuffer(count: values.count, dtype: .int32, label: label)
        try device.write(values, to: buffer)
        return buffer
    }

    /// Runs `run` on both devices and checks that every array it returns agrees within
    /// `tolerance`, and that each of `kernels` was launched on the OpenCL device.
    func compare(
        _ label: String, kernels: [String], tolerance: Tolerance = .kernel,
        file: StaticString = #filePath, line: UInt = #line, _ run: (Device) throws -> [[Float]]
    ) throws {
        let expected = try run(TestDevices.reference())
        let launchesBefore = kernels.map { openCL.launchCounts[$0, default: 0] }
        let actual = try run(openCL)
        for (kernel, before) in zip(kernels, launchesBefore) {
            XCTAssertGreaterThan(
                openCL.launchCounts[kernel, default: 0], before, "\(label): \(kernel) did not run",
                file: file, line: line)
        }
        XCTAssertEqual(actual.count, expected.count, label, file: file, line: line)
        for (index, (output, reference)) in zip(actual, expected).enumerated() {
            if let mismatch = tolerance.firstMismatch(output, reference) {
                XCTFail("\(label), output \(index): \(mismatch)", file: file, line: line)
            }
        }
    }

    /// Runs `run` twice on the OpenCL device and checks that the results are bit-identical.
    func assertDeterministic(
        _ label: String, file: StaticString = #filePath, line: UInt = #line, _ run: (Device) throws -> [[Float]]
    ) throws {
        let first = try run(openCL).map { $0.map(\.bitPattern) }
        let second = try run(openCL).map { $0.map(\.bitPattern) }
        XCTAssertEqual(first, second, "\(label) is not bit-identical between runs", file: file, line: line)
    }

    /// Runs `body` with the softmax, normalisation and optimizer kernels launched with their GPU
    /// geometry (work-group sizes, one float per work-item), so that PoCL checks those paths too.
    func withGPUTuning(_ body: () throws -> Void) rethrows {
        let previous = openCL.tuning.rowKernels
        openCL.tuning.rowKernels = .gpu
        defer { openCL.tuning.rowKernels = previous }
        try body()
    }

    /// Checks that `run` throws on both devices with a message containing every one of `words`.
    func assertThrows(
        _ words: [String], file: StaticString = #filePath, line: UInt = #line, _ run: (Device) throws -> Void
    ) {
        for device in [TestDevices.reference(), openCL] as [Device] {
            XCTAssertThrowsError(try run(device), "\(device.name) accepted bad input", file: file, line: line) {
                error in
                let message = String(describing: error)
                for word in words {
                    XCTAssertTrue(
                        message.contains(word), "\(device.name): '\(message)' does not mention '\(word)'",
                        file: file, line: line)
                }
            }
        }
    }
}

final class SoftmaxKernelTests: XCTestCase {
    /// Row lengths; the longest is many elements per work-item of a group of 256 (about 4 in
    /// the small shapes).
    private let columnCounts = [1, 7, 33, 129, 257, TestShapes.pick(8192, small: 1000)]
    private let rowCounts = [1, 7, 33]
    private let ignoreIndex: Int32 = -100

    func testSoftmaxMatchesReference() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 1)
        for columns in columnCounts {
            for rows in rowCounts {
                try compareSoftmax(harness, rows: rows, columns: columns, random: &random)
            }
        }
    }

    func testCrossEntropyMatchesReference() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 3)
        for columns in columnCounts {
            for rows in rowCounts {
                try compareCrossEntropy(harness, rows: rows, columns: columns, random: &random)
            }
        }
        try compareCrossEntropy(harness, rows: 2, columns: TestShapes.pick(50257, small: 5003), random: &random)
    }

    func testGPUGeometryMatchesReference() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 6)
        try harness.withGPUTuning {
            for (rows, columns) in [(1, 1), (7, 33), (3, 257), (2, 8192)] {
                try compareSoftmax(harness, rows: rows, columns: columns, random: &random)
                try compareCrossEntropy(harness, rows: rows, columns: columns, random: &random)
            }
        }
    }

    /// NaN and ±∞ reach the rows they reach on the reference (a NaN or +∞ makes a softmax row
    /// NaN; −∞ is a probability of 0), in both geometries; ignored rows keep loss 0 and zero
    /// gradients whatever their logits.
    func testNonFiniteInputsAgreeWithReference() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 8)
        let rows = 7
        for columns in [7, 129] {
            var x = random.floats(rows * columns, in: -8...8)
            x[1 * columns + 2] = .nan
            x[2 * columns + 3] = .infinity
            x[3 * columns] = -.infinity
            for c in 0..<columns { x[4 * columns + c] = -.infinity }
            for c in 0..<columns { x[5 * columns + c] = .nan }
            var dy = random.floats(rows * columns)
            dy[6 * columns + 1] = .nan
            var targets = random.ints(rows, below: columns)
            targets[5] = ignoreIndex
            var dLosses = random.floats(rows)
            dLosses[5] = .nan
            let reference = try crossEntropy(
                on: TestDevices.reference(), logits: x, targets: targets, dLosses: dLosses, columns: columns)
            XCTAssertEqual(reference[0].map(\.isNaN), [false, true, true, false, true, false, false])
            XCTAssertEqual(reference[0][5], 0, "an ignored row's loss")
            XCTAssertTrue(reference[2][(5 * columns)..<(6 * columns)].allSatisfy { $0 == 0 }, "its gradient")
            func compareAll() throws {
                try compareCrossEntropy(
                    harness, "crossEntropy \(rows)×\(columns) non-finite", logits: x, targets: targets,
                    dLosses: dLosses, columns: columns)
                try compareSoftmax(harness, rows: rows, columns: columns, x: x, dy: dy)
            }
            try compareAll()
            try harness.withGPUTuning { try compareAll() }
        }
    }

    func testCrossEntropyWithEveryRowIgnored() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 4)
        let rows = 7
        let columns = 33
        try compareCrossEntropy(
            harness, "crossEntropy all ignored", logits: random.floats(rows * columns, in: -10...10),
            targets: [Int32](repeating: ignoreIndex, count: rows), dLosses: random.floats(rows), columns: columns)
        let outputs = try crossEntropy(
            on: harness.openCL, logits: random.floats(rows * columns),
            targets: [Int32](repeating: ignoreIndex, count: rows),
            dLosses: [Float](repeating: 1, count: rows), columns: columns)
        XCTAssertEqual(outputs[0], [Float](repeating: 0, count: rows), "losses of ignored rows")
        XCTAssertEqual(outputs[2], [Float](repeating: 0, count: rows * columns), "gradients of ignored rows")
    }

    /// The gradient may overwrite the logits (the biggest activation of a language model).
    func testCrossEntropyBackwardCanOverwriteLogits() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 7)
        let rows = 7
        let columns = 257
        let logits = random.floats(rows * columns, in: -10...10)
        var targets = random.ints(rows, below: columns)
        targets[2] = ignoreIndex
        let dLosses = random.floats(rows)
        try harness.compare("crossEntropyBackward in place", kernels: ["cross_entropy_backward"]) { device in
            let buffer = try OracleHarness.buffer(device, logits, "logits")
            let targetsBuffer = try OracleHarness.buffer(device, ints: targets, "targets")
            let losses = try device.makeBuffer(count: rows, dtype: .float32, label: "losses")
            let logSumExp = try device.makeBuffer(count: rows, dtype: .float32, label: "logSumExp")
            try device.crossEntropy(
                logits: buffer, targets: targetsBuffer, losses: losses, logSumExp: logSumExp,
                rows: rows, columns: columns, ignoreIndex: ignoreIndex)
            try device.crossEntropyBackward(
                logits: buffer, targets: targetsBuffer, logSumExp: logSumExp,
                dLosses: try OracleHarness.buffer(device, dLosses, "dLosses"), dLogits: buffer,
                rows: rows, columns: columns, ignoreIndex: ignoreIndex)
            return [try device.readFloats(buffer)]
        }
    }

    func testCrossEntropyIsDeterministic() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 5)
        let rows = 33
        let columns = TestShapes.pick(8192, small: 1000)
        let logits = random.floats(rows * columns, in: -10...10)
        var targets = random.ints(rows, below: columns)
        targets[3] = ignoreIndex
        let dLosses = random.floats(rows)
        try harness.assertDeterministic("crossEntropy and crossEntropyBackward") { device in
            try crossEntropy(on: device, logits: logits, targets: targets, dLosses: dLosses, columns: columns)
        }
        try harness.assertDeterministic("softmax") { device in
            let y = try device.makeBuffer(count: logits.count, dtype: .float32, label: "y")
            try device.softmax(
                try OracleHarness.buffer(device, logits, "x"), out: y, rows: rows, columns: columns, log: false)
            return [try device.readFloats(y)]
        }
    }

    func testBadInputsAreRejectedWithTheirSizes() throws {
        let harness = try OracleHarness()
        harness.assertThrows(["softmax", "'y'", "[20]", "[21]"]) { device in
            let x = try device.makeBuffer(count: 21, dtype: .float32, label: "x")
            let y = try device.makeBuffer(count: 20, dtype: .float32, label: "y")
            try device.softmax(x, out: y, rows: 3, columns: 7, log: false)
        }
        harness.assertThrows(["softmaxBackward", "'dy'", "[6]", "[21]"]) { device in
            let y = try device.makeBuffer(count: 21, dtype: .float32, label: "y")
            let dy = try device.makeBuffer(count: 6, dtype: .float32, label: "dy")
            try device.softmaxBackward(y: y, dy: dy, dx: y, rows: 3, columns: 7, log: true)
        }
        harness.assertThrows(["crossEntropy", "'targets'", "[2]", "[3]"]) { device in
            let logits = try device.makeBuffer(count: 21, dtype: .float32, label: "logits")
            let targets = try device.makeBuffer(count: 2, dtype: .int32, label: "targets")
            let rowValues = try device.makeBuffer(count: 3, dtype: .float32, label: "losses")
            try device.crossEntropy(
                logits: logits, targets: targets, losses: rowValues, logSumExp: rowValues,
                rows: 3, columns: 7, ignoreIndex: ignoreIndex)
        }
        harness.assertThrows(["crossEntropyBackward", "columns must be positive"]) { device in
            let buffer = try device.makeBuffer(count: 3, dtype: .float32, label: "b")
            let targets = try device.makeBuffer(count: 3, dtype: .int32, label: "targets")
            try device.crossEntropyBackward(
                logits: buffer, targets: targets, logSumExp: buffer, dLosses: buffer,
                dLogits: buffer, rows: 3, columns: 0, ignoreIndex: ignoreIndex)
        }
    }

    /// A target outside the row that is not the ignore index is an error on both devices, in
    /// the same words: the reference throws from the call, the OpenCL device from its next read.
    /// OpenCL writes NaN for that row, never a plausible loss, and works on after the error.
    func testOutOfRangeTargetIsAnError() throws {
        let harness = try OracleHarness()
        let logits: [Float] = [0, 1, 2, 3, 4, 5]
        let words = ["crossEntropy:", "target 7 of row 1 is outside 0..<3 and is not the ignore index -100"]
        harness.assertThrows(words) { device in
            _ = try crossEntropy(on: device, logits: logits, targets: [1, 7], dLosses: [1, 1], columns: 3)
        }
        harness.assertThrows(["crossEntropyBackward:", "target -2 of row 0"]) { device in
            let buffer = try OracleHarness.buffer(device, logits, "logits")
            let targets = try OracleHarness.buffer(device, ints: [-2, 1], "targets")
            let rowValues = try OracleHarness.buffer(device, [1, 1], "rowValues")
            try device.crossEntropyBackward(
                logits: buffer, targets: targets, logSumExp: rowValues, dLosses: rowValues, dLogits: buffer,
                rows: 2, columns: 3, ignoreIndex: ignoreIndex)
            try device.synchronize()
        }
        let device = harness.openCL
        let losses = try device.makeBuffer(count: 2, dtype: .float32, label: "losses")
        try device.crossEntropy(
            logits: try OracleHarness.buffer(device, logits, "logits"),
            targets: try OracleHarness.buffer(device, ints: [1, 7], "targets"), losses: losses,
            logSumExp: try device.makeBuffer(count: 2, dtype: .float32, label: "logSumExp"),
            rows: 2, columns: 3, ignoreIndex: ignoreIndex)
        XCTAssertThrowsError(try device.readFloats(losses))
        let values = try device.readFloats(losses)
        XCTAssertTrue(values[0].isFinite && values[1].isNaN, "\(values)")
    }

    // MARK: Helpers

    /// Compares softmax and log-softmax, forward and backward, on seeded [rows, columns] inputs.
    private func compareSoftmax(_ harness: OracleHarness, rows: Int, columns: Int, random: inout TestRandom) throws {
        try compareSoftmax(
            harness, rows: rows, columns: columns, x: random.floats(rows * columns, in: -8...8),
            dy: random.floats(rows * columns))
    }

    /// Compares softmax and log-softmax, forward and backward, on [rows, columns] inputs x and dy.
    private func compareSoftmax(_ harness: OracleHarness, rows: Int, columns: Int, x: [Float], dy: [Float]) throws {
        let reference = TestDevices.reference()
        for log in [false, true] {
            try harness.compare("softmax \(rows)×\(columns) log \(log)", kernels: ["softmax_forward"]) { device in
                let output = try device.makeBuffer(count: x.count, dtype: .float32, label: "y")
                try device.softmax(
                    try OracleHarness.buffer(device, x, "x"), out: output, rows: rows, columns: columns, log: log)
                return [try device.readFloats(output)]
            }
            // The backward pass of both devices starts from the same y: the reference's.
            let yBuffer = try reference.makeBuffer(count: x.count, dtype: .float32, label: "y")
            try reference.softmax(
                try OracleHarness.buffer(reference, x, "x"), out: yBuffer, rows: rows, columns: columns, log: log)
            let y = try reference.readFloats(yBuffer)
            try harness.compare("softmaxBackward \(rows)×\(columns) log \(log)", kernels: ["softmax_backward"]) {
                device in
                let dx = try device.makeBuffer(count: y.count, dtype: .float32, label: "dx")
                try device.softmaxBackward(
                    y: try OracleHarness.buffer(device, y, "y"), dy: try OracleHarness.buffer(device, dy, "dy"),
                    dx: dx, rows: rows, columns: columns, log: log)
                return [try device.readFloats(dx)]
            }
        }
    }

    /// Compares the fused cross-entropy on seeded logits whose every third row is ignored.
    private func compareCrossEntropy(_ harness: OracleHarness, rows: Int, columns: Int, random: inout TestRandom) throws
    {
        var targets = random.ints(rows, below: columns)
        for row in stride(from: 1, to: rows, by: 3) { targets[row] = ignoreIndex }
        try compareCrossEntropy(
            harness, "crossEntropy \(rows)×\(columns)", logits: random.floats(rows * columns, in: -10...10),
            targets: targets, dLosses: random.floats(rows), columns: columns)
    }

    private func compareCrossEntropy(
        _ harness: OracleHarness, _ label: String, logits: [Float], targets: [Int32], dLosses: [Float], columns: Int
    ) throws {
        try harness.compare(label, kernels: ["cross_entropy_forward", "cross_entropy_backward"]) { device in
            try crossEntropy(on: device, logits: logits, targets: targets, dLosses: dLosses, columns: columns)
        }
    }

    /// Losses, log-sum-exp and dLogits of the fused cross-entropy, forward then backward.
    private func crossEntropy(
        on device: Device, logits: [Float], targets: [Int32], dLosses: [Float], columns: Int
    ) throws -> [[Float]] {
        let rows = targets.count
        let logitsBuffer = try OracleHarness.buffer(device, logits, "logits")
        let targetsBuffer = try OracleHarness.buffer(device, ints: targets, "targets")
        let losses = try device.makeBuffer(count: rows, dtype: .float32, label: "losses")
        let logSumExp = try device.makeBuffer(count: rows, dtype: .float32, label: "logSumExp")
        let dLogits = try device.makeBuffer(count: logits.count, dtype: .float32, label: "dLogits")
        try device.crossEntropy(
            logits: logitsBuffer, targets: targetsBuffer, losses: losses, logSumExp: logSumExp,
            rows: rows, columns: columns, ignoreIndex: ignoreIndex)
        try device.crossEntropyBackward(
            logits: logitsBuffer, targets: targetsBuffer, logSumExp: logSumExp,
            dLosses: try OracleHarness.buffer(device, dLosses, "dLosses"), dLogits: dLogits,
            rows: rows, columns: columns, ignoreIndex: ignoreIndex)
        return [try device.readFloats(losses), try device.readFloats(logSumExp), try device.readFloats(dLogits)]
    }
}
