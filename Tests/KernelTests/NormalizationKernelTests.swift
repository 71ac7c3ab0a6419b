import Core
import OpenCLDevice
import ReferenceDevice
import TestSupport
import XCTest

final class NormalizationKernelTests: XCTestCase {
    private let columnCounts = [1, 7, 33, 129, 257, 768]
    private let rowCounts = [1, 7, 33]
    private let epsilon: Float = 1e-5

    /// Seeded inputs of one normalisation test case.
    private struct Inputs {
        var rows: Int
        var columns: Int
        var x: [Float]
        var weight: [Float]
        var bias: [Float]
        var dy: [Float]

        init(rows: Int, columns: Int, random: inout TestRandom) {
            self.rows = rows
            self.columns = columns
            // An offset mean makes the centring of layer norm matter.
            x = random.floats(rows * columns, in: -2...3)
            weight = random.floats(columns, in: 0.5...1.5)
            bias = random.floats(columns)
            dy = random.floats(rows * columns)
        }
    }

    func testLayerNormMatchesReference() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 11)
        for columns in columnCounts {
            for rows in rowCounts {
                try compareLayerNorm(harness, Inputs(rows: rows, columns: columns, random: &random))
            }
        }
    }

    func testRMSNormMatchesReference() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 12)
        for columns in columnCounts {
            for rows in rowCounts {
                try compareRMSNorm(harness, Inputs(rows: rows, columns: columns, random: &random))
            }
        }
    }

    func testGPUGeometryMatchesReference() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 14)
        try harness.withGPUTuning {
            for (rows, columns) in [(1, 1), (7, 33), (33, 257), (3, 768)] {
                try compareLayerNorm(harness, Inputs(rows: rows, columns: columns, random: &random))
                try compareRMSNorm(harness, Inputs(rows: rows, columns: columns, random: &random))
            }
        }
    }

    /// NaN and ±∞ in x, the weight and dy reach the rows and columns they reach on the reference.
    func testNonFiniteInputsAgreeWithReference() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 15)
        for columns in [7, 129] {
            var inputs = Inputs(rows: 6, columns: columns, random: &random)
            inputs.x[1 * columns + 2] = .nan
            inputs.x[2 * columns + 3] = .infinity
            inputs.x[3 * columns] = -.infinity
            inputs.dy[4 * columns + 1] = .nan
            inputs.weight[columns - 1] = .infinity
            inputs.bias[0] = .nan
            let reference = try layerNorm(on: TestDevices.reference(), inputs)
            XCTAssertTrue(reference[0][(1 * columns)..<(2 * columns)].allSatisfy(\.isNaN), "a row with NaN")
            XCTAssertTrue(reference[0][1..<(columns - 1)].allSatisfy(\.isFinite), "a finite row")
            try compareLayerNorm(harness, inputs)
            try compareRMSNorm(harness, inputs)
            try harness.withGPUTuning {
                try compareLayerNorm(harness, inputs)
                try compareRMSNorm(harness, inputs)
            }
        }
    }

    /// dWeight and dBias sum over many rows: the sums must come out in the same order every run.
    func testBackwardIsDeterministic() throws {
        let harness = try OracleHarness()
        var random = TestRandom(seed: 13)
        let (rows, columns) = TestShapes.pick((257, 768), small: (70, 300))
        let inputs = Inputs(rows: rows, columns: columns, random: &random)
        try harness.assertDeterministic("layerNorm forward and backward") { device in try layerNorm(on: device, inputs)
        }
        try harness.assertDeterministic("rmsNorm forward and backward") { device in try rmsNorm(on: device, inputs) }
    }

    func testBadInputsAreRejectedWithTheirSizes() throws {
        let harness = try OracleHarness()
        harness.assertThrows(["layerNorm", "'bias'", "[6]", "[7]"]) { device in
            let x = try device.makeBuffer(count: 14, dtype: .float32, label: "x")
            let weight = try device.makeBuffer(count: 7, dtype: .float32, label: "weight")
            let bias = try device.makeBuffer(count: 6, dtype: .float32, label: "bias")
            let perRow = try device.makeBuffer(count: 2, dtype: .float32, label: "perRow")
            try device.layerNorm(
                x, weight: weight, bias: bias, out: x, mean: perRow, rstd: perRow,
                rows: 2, columns: 7, epsilon: epsilon)
        }
        harness.assertThrows(["layerNormBackward", "'mean'", "[1]", "[2]"]) { device in
            let x = try device.makeBuffer(count: 14, dtype: .float32, label: "x")
            let perColumn = try device.makeBuffer(count: 7, dtype: .float32, label: "perColumn")
            let mean = try device.makeBuffer(count: 1, dtype: .float32, label: "mean")
            let rstd = try device.makeBuffer(count: 2, dtype: .float32, label: "rstd")
            try device.layerNormBackward(
                x, weight: perColumn, mean: mean, rstd: rstd, dy: x, dx: x,
                dWeight: perColumn, dBias: perColumn, rows: 2, columns: 7)
        }
        harness.assertThrows(["rmsNorm", "'x'", "[13]", "[14]"]) { device in
            let x = try device.makeBuffer(count: 13, dtype: .float32, label: "x")
            let weight = try device.makeBuffer(count: 7, dtype: .float32, label: "weight")
            let rstd = try device.makeBuffer(count: 2, dtype: .float32, label: "rstd")
            try device.rmsNorm(x, weight: weight, out: x, rstd: rstd, rows: 2, columns: 7, epsilon: epsilon)
        }
        harness.assertThrows(["rmsNormBackward", "rows must be positive, got -1"]) { device in
            let buffer = try device.makeBuffer(count: 7, dtype: .float32, label: "b")
            try device.rmsNormBackward(
                buffer, weight: buffer, rstd: buffer, dy: buffer, dx: buffer, dWeight: buffer,
                rows: -1, columns: 7)
        }
    }

    // MARK: Helpers

    private func compareLayerNorm(_ harness: OracleHarness, _ inputs: Inputs) throws {
        try harness.compare(
            "layerNorm \(inputs.rows)×\(inputs.columns)",
            kernels: ["layer_norm_forward", "layer_norm_backward_input", "layer_norm_backward_params"]
        ) { device in try layerNorm(on: device, inputs) }
    }

    private func compareRMSNorm(_ harness: OracleHarness, _ inputs: Inputs) throws {
        try harness.compare(
            "rmsNorm \(inputs.rows)×\(inputs.columns)",
            kernels: ["rms_norm_forward", "rms_norm_backward_input", "rms_norm_backward_params"]
        ) { device in try rmsNorm(on: device, inputs) }
    }

    /// y, mean, rstd of the forward pass, then dx, dWeight, dBias of the backward pass.
    private func layerNorm(on device: Device, _ inputs: Inputs) throws -> [[Float]] {
        let (rows, columns) = (inputs.rows, inputs.columns)
        let x = try OracleHarness.buffer(device, inputs.x, "x")
        let weight = try OracleHarness.buffer(device, inputs.weight, "weight")
        let outputs = try makeBuffers(
            on: device, counts: [rows * columns, rows, rows, rows * columns, columns, columns])
        let (y, mean, rstd, dx, dWeight, dBias) = (
            outputs[0], outputs[1], outputs[2], outputs[3], outputs[4], outputs[5]
        )
        try device.layerNorm(
            x, weight: weight, bias: try OracleHarness.buffer(device, inputs.bias, "bias"), out: y,
            mean: mean, rstd: rstd, rows: rows, columns: columns, epsilon: epsilon)
        try device.layerNormBackward(
            x, weight: weight, mean: mean, rstd: rstd,
            dy: try OracleHarness.buffer(device, inputs.dy, "dy"), dx: dx,
            dWeight: dWeight, dBias: dBias, rows: rows, columns: columns)
        return try outputs.map(device.readFloats)
    }

    /// y, rstd of the forward pass, then dx, dWeight of the backward pass.
    private func rmsNorm(on device: Device, _ inputs: Inputs) throws -> [[Float]] {
        let (rows, columns) = (inputs.rows, inputs.columns)
        let x = try OracleHarness.buffer(device, inputs.x, "x")
        let weight = try OracleHarness.buffer(device, inputs.weight, "weight")
        let outputs = try makeBuffers(on: device, counts: [rows * columns, rows, rows * columns, columns])
        let (y, rstd, dx, dWeight) = (outputs[0], outputs[1], outputs[2], outputs[3])
        try device.rmsNorm(x, weight: weight, out: y, rstd: rstd, rows: rows, columns: columns, epsilon: epsilon)
        try device.rmsNormBackward(
            x, weight: weight, rstd: rstd, dy: try OracleHarness.buffer(device, inputs.dy, "dy"),
            dx: dx, dWeight: dWeight, rows: rows, columns: columns)
        return try outputs.map(device.readFloats)
    }

    private func makeBuffers(on device: Device, counts: [Int]) throws -> [DeviceBuffer] {
        try counts.enumerated().map { try device.makeBuffer(count: $1, dtype: .float32, label: "output \($0)") }
    }
}
