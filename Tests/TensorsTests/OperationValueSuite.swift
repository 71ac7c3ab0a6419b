import Core
import Foundation
import Tensors
import TestSupport
import XCTest

/// Forward values of the operations that the tensor layer assembles itself (broadcast folding,
/// batched and folded products, bias rows, slices, reductions, loss reductions), against plain
/// host loops. Gradient checks alone would accept a wrong forward with a matching backward.
protocol OperationValueSuite {
    var device: Device { get throws }
}

extension OperationValueSuite {
    private func assertClose(
        _ actual: Tensor, _ expected: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        if let mismatch = Tolerance.kernel.firstMismatch(try actual.values(), expected) {
            XCTFail("\(what) on \(try device.name): \(mismatch)", file: file, line: line)
        }
    }

    func checkBroadcastValues() throws {
        let device = try device
        var random = TestRandom(seed: 21)
        let a = random.floats(24)
        let b = random.floats(3)
        let x = try Tensor(device: device, shape: [2, 3, 4], values: a)
        let y = try Tensor(device: device, shape: [3, 1], values: b)
        // Element (i, j, l) of [2,3,4] pairs with b[j].
        let index = { (i: Int) in (i / 4) % 3 }
        try assertClose(try x * y, a.indices.map { a[$0] * b[index($0)] }, "[2,3,4]*[3,1]")
        try assertClose(try y - x, a.indices.map { b[index($0)] - a[$0] }, "[3,1]-[2,3,4]")
        try assertClose(try y.broadcast(to: [2, 3, 4]), a.indices.map { b[index($0)] }, "broadcast [3,1] to [2,3,4]")
        var sums = [Float](repeating: 0, count: 3)
        for i in a.indices { sums[index(i)] += a[i] }
        try assertClose(try x.sum(toShape: [3, 1]), sums, "sum [2,3,4] to [3,1]")
        try assertClose(
            try x.sum(axis: 1), (0..<8).map { o in (0..<3).reduce(0) { $0 + a[(o / 4) * 12 + $1 * 4 + o % 4] } },
            "sum(axis: 1)")
        try assertClose(try x.mean(), [a.reduce(0, +) / 24], "mean")
    }

    func checkProductValues() throws {
        let device = try device
        var random = TestRandom(seed: 22)
        let (batch, m, n, k) = (3, 2, 5, 4)
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let a = random.floats(batch * m * k)
                let b = random.floats(batch * k * n)
                let aShape = transposeA ? [batch, k, m] : [batch, m, k]
                let bShape = transposeB ? [batch, n, k] : [batch, k, n]
                let product = try Tensor.matmul(
                    Tensor(device: device, shape: aShape, values: a),
                    Tensor(device: device, shape: bShape, values: b),
                    transposeA: transposeA, transposeB: transposeB)
                XCTAssertEqual(product.shape, [batch, m, n])
                let expected = (0..<batch).flatMap { item in
                    hostProduct(item: item, a, b, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
                }
                try assertClose(product, expected, "batched matmul tA \(transposeA) tB \(transposeB)")
                let shared = Array(b[..<(k * n)])
                let folded = try Tensor.matmul(
                    Tensor(device: device, shape: aShape, values: a),
                    Tensor(device: device, shape: transposeB ? [n, k] : [k, n], values: shared),
                    transposeA: transposeA, transposeB: transposeB)
                let expectedShared = (0..<batch).flatMap { item in
                    hostProduct(
                        item: item, a, shared, sharedB: true, m: m, n: n, k: k, transposeA: transposeA,
                        transposeB: transposeB)
                }
                try assertClose(folded, expectedShared, "matmul with shared B tA \(transposeA) tB \(transposeB)")
            }
        }
    }

    func checkLinearValues() throws {
        let device = try device
        var random = TestRandom(seed: 23)
        let (rows, inputs, outputs) = (6, 4, 3)
        let x = random.floats(rows * inputs)
        let w = random.floats(inputs * outputs)
        let bias = random.floats(outputs)
        let expected = hostProduct(x, w, m: rows, n: outputs, k: inputs, transposeA: false, transposeB: false)
            .enumerated().map { $1 + bias[$0 % outputs] }
        let input = try Tensor(device: device, shape: [2, 3, inputs], values: x)
        let conv1D = try Tensor.linear(
            input, weight: Tensor(device: device, shape: [inputs, outputs], values: w),
            bias: Tensor(device: device, shape: [outputs], values: bias), layout: .inputOutput)
        XCTAssertEqual(conv1D.shape, [2, 3, outputs])
        try assertClose(conv1D, expected, "linear [in,out]")
        // The same map with the weight stored [out, in].
        let transposed = (0..<(outputs * inputs)).map { w[($0 % inputs) * outputs + $0 / inputs] }
        let linear = try Tensor.linear(
            input, weight: Tensor(device: device, shape: [outputs, inputs], values: transposed),
            bias: Tensor(device: device, shape: [outputs], values: bias), layout: .outputInput)
        try assertClose(linear, expected, "linear [out,in]")
    }

    func checkSliceAndConcatenateValues() throws {
        let device = try device
        let values = (0..<12).map(Float.init)
        let x = try Tensor(device: device, shape: [3, 4], values: values)
        try assertClose(try x.slice(lastAxis: 1..<3), [1, 2, 5, 6, 9, 10], "slice")
        let parts = try x.split(sizes: [3, 1])
        try assertClose(
            try Tensor.concatenate(lastAxis: [parts[1], parts[0]]), [3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10],
            "concatenate")
        try assertClose(try x.slice(axis: 0, 2..<3), [8, 9, 10, 11], "slice along axis 0")
        let cube = try Tensor(device: device, shape: [2, 3, 2], values: values)
        try assertClose(try cube.slice(axis: 1, 2..<3), [4, 5, 10, 11], "slice along axis 1")
        try assertClose(
            try Tensor.concatenate([cube.slice(axis: 1, 2..<3), cube.slice(axis: 1, 0..<1)], axis: 1),
            [4, 5, 0, 1, 10, 11, 6, 7], "concatenate along axis 1")
        // A cache [2, 4, 2] takes one new position [2, 1, 2] at index 2.
        let cache = try Tensor.zeros(device: device, shape: [2, 4, 2])
        try cache.write(Tensor(device: device, shape: [2, 1, 2], values: [1, 2, 3, 4]), axis: 1, at: 2)
        try assertClose(cache, [0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0], "write along axis 1")
    }

    func checkCrossEntropyReductions() throws {
        let device = try device
        var random = TestRandom(seed: 24)
        let logits = random.floats(4 * 5, in: -2...2)
        let targets: [Int32] = [3, -100, 0, 4]
        let expected: [Float] = (0..<4).map { row in
            guard targets[row] != -100 else { return 0 }
            let z = logits[(row * 5)..<(row * 5 + 5)].map(Double.init)
            let maximum = z.max()!
            let logSumExp = maximum + Foundation.log(z.reduce(0) { $0 + Foundation.exp($1 - maximum) })
            return Float(logSumExp - z[Int(targets[row])])
        }
        let logitTensor = try Tensor(device: device, shape: [4, 5], values: logits)
        let targetTensor = try IntTensor(device: device, shape: [4], values: targets)
        try assertClose(
            try Tensor.crossEntropy(logits: logitTensor, targets: targetTensor, reduction: .none), expected, "CE none")
        try assertClose(
            try Tensor.crossEntropy(logits: logitTensor, targets: targetTensor, reduction: .sum),
            [expected.reduce(0, +)], "CE sum")
        try assertClose(
            try Tensor.crossEntropy(logits: logitTensor, targets: targetTensor), [expected.reduce(0, +) / 3], "CE mean")
        try assertClose(
            try Tensor.tokenLogProbs(logits: logitTensor, targets: targetTensor), expected.map { -$0 }, "tokenLogProbs")
        let ignored = try IntTensor(device: device, shape: [4], values: [-100, -100, -100, -100])
        try assertClose(
            try Tensor.crossEntropy(logits: logitTensor, targets: ignored), [0], "CE mean with every target ignored")
    }
}

/// C = op(A)·op(B) for one row-major item, in Double.
func hostProduct(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool) -> [Float] {
    (0..<(m * n)).map { index in
        let (i, j) = (index / n, index % n)
        return Float(
            (0..<k).reduce(0.0) { sum, l in
                sum + Double(transposeA ? a[l * m + i] : a[i * k + l])
                    * Double(transposeB ? b[j * k + l] : b[l * n + j])
            })
    }
}

/// Batch item `item` of a product whose operands hold consecutive items (B one matrix when `sharedB`).
func hostProduct(
    item: Int, _ a: [Float], _ b: [Float], sharedB: Bool = false,
    m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool
) -> [Float] {
    let aItem = Array(a[(item * m * k)..<((item + 1) * m * k)])
    let bStart = sharedB ? 0 : item * k * n
    let bItem = Array(b[bStart..<(bStart + k * n)])
    return hostProduct(aItem, bItem, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
}
