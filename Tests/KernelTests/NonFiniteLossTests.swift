import Core
import OpenCLDevice
import ReferenceDevice
import TestSupport
import XCTest

/// A NaN weight must give a NaN loss on every device, not a plausible one: the operations of a
/// one-layer attention model in a row, from token ids to the cross-entropy.
final class NonFiniteLossTests: XCTestCase {
    func testNaNWeightGivesNaNLossOnBothDevices() throws {
        let harness = try OracleHarness()
        let (vocabulary, tokens, width) = (11, 6, 8)
        var random = TestRandom(seed: 70)
        let table = random.floats(vocabulary * width)
        let ids = random.ints(tokens, below: vocabulary)
        let targets = random.ints(tokens, below: vocabulary)
        var weights = (0..<3).map { _ in random.floats(width * width) }
        weights[0][0] = .nan  // one entry of the query projection
        let output = random.floats(width * vocabulary)
        try harness.compare("loss with a NaN weight", kernels: ["attention_forward", "cross_entropy_forward"]) {
            device in
            func floats(_ values: [Float], _ label: String) throws -> DeviceBuffer {
                try OracleHarness.buffer(device, values, label)
            }
            func empty(_ count: Int, _ label: String) throws -> DeviceBuffer {
                try device.makeBuffer(count: count, dtype: .float32, label: label)
            }
            let x = try empty(tokens * width, "x")
            try device.embedding(
                table: try floats(table, "table"), ids: try OracleHarness.buffer(device, ints: ids, "ids"), out: x,
                count: tokens, dimension: width)
            let projected = try weights.map { weight -> DeviceBuffer in
                let result = try empty(tokens * width, "projection")
                try device.matmul(
                    MatmulShape(m: tokens, n: width, k: width), a: x, b: try floats(weight, "weight"), c: result)
                return result
            }
            let attended = try empty(tokens * width, "attended")
            try device.attention(
                AttentionShape(batch: 1, queryHeads: 1, queryLength: tokens, headDim: width), q: projected[0],
                k: projected[1], v: projected[2], masks: .none, out: attended,
                logSumExp: try empty(tokens, "logSumExp"))
            let logits = try empty(tokens * vocabulary, "logits")
            try device.matmul(
                MatmulShape(m: tokens, n: vocabulary, k: width), a: attended, b: try floats(output, "output"),
                c: logits)
            let losses = try empty(tokens, "losses")
            try device.crossEntropy(
                logits: logits, targets: try OracleHarness.buffer(device, ints: targets, "targets"), losses: losses,
                logSumExp: try empty(tokens, "logSumExp"), rows: tokens, columns: vocabulary, ignoreIndex: -100)
            let values = try device.readFloats(losses)
            XCTAssertTrue(values.allSatisfy(\.isNaN), "\(device.name): \(values)")
            return [values]
        }
    }
}
