import Core
import Foundation
import OpenCLDevice
import ReferenceDevice
import TestSupport
import XCTest

/// Which of the two compared devices a buffer belongs to.
enum ElementwiseSide: CaseIterable {
    case openCL, reference
}

/// One tensor on both devices: the same values on the OpenCL and the reference device.
struct ElementwisePair {
    let openCL: DeviceBuffer
    let reference: DeviceBuffer

    subscript(side: ElementwiseSide) -> DeviceBuffer { side == .openCL ? openCL : reference }
}

/// Runs an operation on the OpenCL and the reference device and compares the results
/// (shared by the elementwise and embedding kernel tests).
struct ElementwiseHarness {
    let openCL: OpenCLDevice
    let reference: ReferenceDevice

    init() throws {
        openCL = try TestDevices.openCL.get()
        reference = TestDevices.reference()
    }

    func device(_ side: ElementwiseSide) -> Device { side == .openCL ? openCL : reference }

    /// `values` on both devices.
    func floats(_ values: [Float], _ label: String = "x") throws -> ElementwisePair {
        try pair(values.count, .float32, label) { try $0.write(values, to: $1) }
    }

    /// `values` on both devices.
    func ints(_ values: [Int32], _ label: String = "ids") throws -> ElementwisePair {
        try pair(values.count, .int32, label) { try $0.write(values, to: $1) }
    }

    private func pair(
        _ count: Int, _ dtype: DType, _ label: String, _ write: (Device, DeviceBuffer) throws -> Void
    ) throws -> ElementwisePair {
        let buffers = try [openCL as Device, reference].map { device -> DeviceBuffer in
            let buffer = try device.makeBuffer(count: count, dtype: dtype, label: label)
            try write(device, buffer)
            return buffer
        }
        return ElementwisePair(openCL: buffers[0], reference: buffers[1])
    }

    /// Runs `operation` on both devices, then checks that every kernel in `kernels` launched
    /// on the OpenCL device and that `outputs` agree within `tolerance`. Returns the OpenCL results.
    @discardableResult
    func compare(
        _ what: String, kernels: [String], outputs: [ElementwisePair], tolerance: Tolerance = .kernel,
        file: StaticString = #filePath, line: UInt = #line,
        _ operation: (Device, ElementwiseSide) throws -> Void
    ) throws -> [[Float]] {
        let before = openCL.launchCounts
        for side in ElementwiseSide.allCases { try operation(device(side), side) }
        for kernel in kernels {
            XCTAssertGreaterThan(
                openCL.launchCounts[kernel, default: 0], before[kernel, default: 0],
                "\(what): kernel \(kernel) did not run", file: file, line: line)
        }
        return try outputs.map { output in
            let actual = try openCL.readFloats(output.openCL)
            let expected = try reference.readFloats(output.reference)
            if let mismatch = tolerance.firstMismatch(actual, expected) {
                XCTFail("\(what): \(mismatch)", file: file, line: line)
            }
            return actual
        }
    }

    /// Asserts that `operation` throws an error whose text names `operation` and contains `words`.
    func assertRejects(
        _ words: [String], on side: ElementwiseSide, file: StaticString = #filePath, line: UInt = #line,
        _ operation: (Device) throws -> Void
    ) {
        XCTAssertThrowsError(try operation(device(side)), file: file, line: line) { error in
            let text = "\(error)"
            for word in words {
                XCTAssertTrue(text.contains(word), "'\(text)' does not mention '\(word)'", file: file, line: line)
            }
        }
    }
}

/// The awkward sizes every kernel meets: none a multiple of a float4 or a work-group.
let elementwiseSizes = [1, 7, 33, 129, 257]

/// Elementwise, reduction and dropout kernels (elementwise.cl, activations.cl) against the reference.
final class ElementwiseKernelTests: XCTestCase {
    var harness: ElementwiseHarness!
    var random = TestRandom(seed: 17)

    override func setUpWithError() throws {
        harness = try ElementwiseHarness()
    }

    // MARK: fill and copies

    func testFillWritesOnlyItsRange() throws {
        for size in elementwiseSizes {
            for (offset, count) in [(0, size), (size / 3, size - size / 3), (size / 2, size / 4)] {
                let buffer = try harness.floats(random.floats(size + 5), "filled")
                try harness.compare(
                    "fill \(offset)+\(count) of \(size)", kernels: count > 0 ? ["fill"] : [],
                    outputs: [buffer]
                ) { device, side in
                    try device.fill(buffer[side], value: 2.5, offset: offset, count: count)
                }
            }
        }
    }

    func testCopy2DCopiesAndAccumulatesBlocks() throws {
        for rows in elementwiseSizes {
            for columns in elementwiseSizes where rows * columns <= 33 * 257 {
                let (sourceStride, destinationStride) = (columns + 3, columns + 1)
                let source = try harness.floats(random.floats(2 + rows * sourceStride), "source")
                for accumulate in [false, true] {
                    let destination = try harness.floats(random.floats(5 + rows * destinationStride), "destination")
                    try harness.compare(
                        "copy2D \(rows)×\(columns) accumulate \(accumulate)",
                        kernels: ["copy_2d"], outputs: [destination]
                    ) { device, side in
                        try device.copy2D(
                            from: source[side], sourceOffset: 2, sourceRowStride: sourceStride,
                            to: destination[side], destinationOffset: 5, destinationRowStride: destinationStride,
                            rows: rows, columns: columns, accumulate: accumulate)
                    }
                }
            }
        }
    }

    func testCopyBandwidthKernelCopies() throws {
        for size in elementwiseSizes + [100_003] {
            let values = random.floats(size)
            let source = try harness.openCL.makeBuffer(count: size, dtype: .float32, label: "source")
            let destination = try harness.openCL.makeBuffer(count: size, dtype: .float32, label: "destination")
            try harness.openCL.write(values, to: source)
            try harness.openCL.copyBandwidthKernel(from: source, to: destination, count: size)
            XCTAssertEqual(try harness.openCL.readFloats(destination), values, "size \(size)")
        }
    }

    // MARK: binary

    /// Operands of `op`: b stays away from zero so that division is well conditioned.
    private func operands(_ op: BinaryOp, _ aCount: Int, _ bCount: Int) throws -> (ElementwisePair, ElementwisePair) {
        let a = try harness.floats(random.floats(aCount, in: -2...2), "a")
        var bValues = random.floats(bCount, in: 0.5...2)
        if op != .divide { bValues = bValues.enumerated().map { $0.offset % 2 == 0 ? -$0.element : $0.element } }
        // Some equal pairs, so that greaterOrEqual, maximum and minimum meet ties.
        let shared = try harness.reference.readFloats(a.reference)
        for i in stride(from: 0, to: min(aCount, bCount), by: 5) { bValues[i] = shared[i] }
        return (a, try harness.floats(bValues, "b"))
    }

    func testBinarySameShapeEveryOp() throws {
        for op in BinaryOp.allCases {
            for size in elementwiseSizes {
                let (a, b) = try operands(op, size, size)
                let out = try harness.floats([Float](repeating: 0, count: size), "out")
                let layout = try XCTUnwrap(BroadcastShape.broadcasting([size], [size])).layout
                try harness.compare("\(op) size \(size)", kernels: ["binary_rows"], outputs: [out]) { device, side in
                    try device.binary(op, a[side], b[side], out: out[side], shape: layout)
                }
            }
        }
    }

    func testBinaryBroadcastPatterns() throws {
        // (a shape, b shape): bias over rows, column vector, scalar on either side, rank 4.
        var patterns: [([Int], [Int])] = []
        for rows in [1, 7, 33] {
            for columns in [1, 7, 129, 257] {
                patterns += [
                    ([rows, columns], [columns]), ([rows, columns], [rows, 1]),
                    ([rows, columns], [1]), ([1], [rows, columns]),
                ]
            }
        }
        patterns += [([2, 3, 5, 7], [3, 1, 7]), ([2, 1, 5, 1], [1, 3, 1, 9]), ([5, 1, 33], [1, 7, 1])]
        let before = harness.openCL.launchCounts
        for (aShape, bShape) in patterns {
            let (shape, layout) = try XCTUnwrap(BroadcastShape.broadcasting(aShape, bShape))
            // Every op shares the indexing; these three notice swapped operands. (All ops are
            // checked above; fewer here keeps PoCL's kernel compilations few.)
            for op in [BinaryOp.subtract, .divide, .greaterOrEqual] {
                let (a, b) = try operands(op, aShape.reduce(1, *), bShape.reduce(1, *))
                let out = try harness.floats([Float](repeating: 0, count: shape.reduce(1, *)), "out")
                try harness.compare("\(op) \(aShape) with \(bShape)", kernels: [], outputs: [out]) { device, side in
                    try device.binary(op, a[side], b[side], out: out[side], shape: layout)
                }
            }
        }
        // Rank ≤ 2 after merging takes binary_rows; the rank-3 and rank-4 patterns take binary.
        for kernel in ["binary_rows", "binary"] {
            XCTAssertGreaterThan(harness.openCL.launchCounts[kernel, default: 0], before[kernel, default: 0], kernel)
        }
    }

    func testBinaryInPlace() throws {
        for (aShape, bShape) in [([129], [129]), ([7, 33], [33]), ([7, 33], [7, 1])] {
            let layout = try XCTUnwrap(BroadcastShape.broadcasting(aShape, bShape)).layout
            let (a, b) = try operands(.multiply, aShape.reduce(1, *), bShape.reduce(1, *))
            try harness.compare("in-place multiply \(aShape) with \(bShape)", kernels: ["binary_rows"], outputs: [a]) {
                device, side in
                try device.binary(.multiply, a[side], b[side], out: a[side], shape: layout)
            }
        }
    }

    // MARK: unary

    /// Every operation, with inputs inside its domain.
    private static let unaryCases: [(UnaryOp, ClosedRange<Float>)] = [
        (.negate, -3...3), (.exp, -4...4), (.log, 0.05...5), (.sqrt, 0.05...5), (.tanh, -4...4),
        (.sigmoid, -12...12), (.logSigmoid, -30...30), (.gelu, -6...6), (.silu, -12...12), (.relu, -2...2),
        (.scale(-1.75), -3...3), (.addScalar(0.625), -3...3), (.clamp(-0.5, 0.75), -2...2), (.square, -3...3),
    ]

    func testUnaryEveryOpForwardAndBackward() throws {
        for (op, range) in Self.unaryCases {
            for size in elementwiseSizes {
                let x = try harness.floats(random.floats(size, in: range), "x")
                let dy = try harness.floats(random.floats(size), "dy")
                let y = try harness.floats([Float](repeating: 0, count: size), "y")
                let dx = try harness.floats([Float](repeating: 0, count: size), "dx")
                try harness.compare("\(op) size \(size)", kernels: ["unary", "unary_backward"], outputs: [y, dx]) {
                    device, side in
                    try device.unary(op, x[side], out: y[side], count: size)
                    try device.unaryBackward(op, x: x[side], dy: dy[side], dx: dx[side], count: size)
                }
            }
        }
    }

    func testUnaryInPlace() throws {
        for (op, range) in Self.unaryCases {
            let x = try harness.floats(random.floats(33, in: range), "x")
            let dy = try harness.floats(random.floats(33), "dy")
            try harness.compare("in-place \(op)", kernels: ["unary_backward", "unary"], outputs: [x, dy]) {
                device, side in
                try device.unaryBackward(op, x: x[side], dy: dy[side], dx: dy[side], count: 33)
                try device.unary(op, x[side], out: x[side], count: 33)
            }
        }
    }

    func testUnaryBoundaries() throws {
        // clamp's bounds and relu's 0 are inside (clamp) or outside (relu) the gradient's support.
        let x: [Float] = [-0.5, 0.75, -0.5000001, 0.7500001, 0, -0, 1e-30, -1e-30, 0.1]
        let cases: [(UnaryOp, values: [Float], slopes: [Float])] = [
            (.clamp(-0.5, 0.75), [-0.5, 0.75, -0.5, 0.75, 0, 0, 1e-30, -1e-30, 0.1], [1, 1, 0, 0, 1, 1, 1, 1, 1]),
            (.relu, [0, 0.75, 0, 0.7500001, 0, 0, 1e-30, 0, 0.1], [0, 1, 0, 1, 0, 0, 1, 0, 1]),
        ]
        let ones = try harness.floats([Float](repeating: 1, count: x.count), "dy")
        let input = try harness.floats(x)
        for (op, values, slopes) in cases {
            let y = try harness.floats([Float](repeating: 9, count: x.count), "y")
            let dx = try harness.floats([Float](repeating: 9, count: x.count), "dx")
            let results = try harness.compare("\(op) boundaries", kernels: ["unary"], outputs: [y, dx]) {
                device, side in
                try device.unary(op, input[side], out: y[side], count: x.count)
                try device.unaryBackward(op, x: input[side], dy: ones[side], dx: dx[side], count: x.count)
            }
            XCTAssertEqual(results[0], values, "\(op) values")
            XCTAssertEqual(results[1], slopes, "\(op) slopes")
        }
    }

    func testUnaryStableAtExtremes() throws {
        let x: [Float] = [-100, -50, -20, 0, 20, 50, 100]
        let input = try harness.floats(x)
        for op in [UnaryOp.sigmoid, .logSigmoid, .gelu, .silu, .tanh] {
            let y = try harness.floats([Float](repeating: 0, count: x.count), "y")
            let dx = try harness.floats([Float](repeating: 0, count: x.count), "dx")
            let dy = try harness.floats([Float](repeating: 1, count: x.count), "dy")
            let results = try harness.compare("\(op) extremes", kernels: ["unary"], outputs: [y, dx]) { device, side in
                try device.unary(op, input[side], out: y[side], count: x.count)
                try device.unaryBackward(op, x: input[side], dy: dy[side], dx: dx[side], count: x.count)
            }
            XCTAssertTrue(results.joined().allSatisfy(\.isFinite), "\(op) is not finite: \(results)")
        }
    }

    func testNaNsPropagateThroughMaximumMinimumReluAndClamp() throws {
        // A NaN in either operand of maximum and minimum gives NaN (fmax/fmin would drop it);
        // greaterOrEqual is false for any NaN.
        let nan = Float.nan
        let a = try harness.floats([nan, 1, nan, -1, 0.5, nan, 2], "a")
        let b = try harness.floats([1, nan, nan, 0.5, -1, 0, nan], "b")
        let out = try harness.floats([Float](repeating: 0, count: 7), "out")
        let layout = try XCTUnwrap(BroadcastShape.broadcasting([7], [7])).layout
        let expected: [(BinaryOp, [Float])] = [
            (.maximum, [nan, nan, nan, 0.5, 0.5, nan, nan]), (.minimum, [nan, nan, nan, -1, -1, nan, nan]),
            (.greaterOrEqual, [0, 0, 0, 0, 1, 0, 0]),
        ]
        for (op, values) in expected {
            let results = try harness.compare("\(op) with NaNs", kernels: ["binary_rows"], outputs: [out]) {
                device, side in
                try device.binary(op, a[side], b[side], out: out[side], shape: layout)
            }
            XCTAssertEqual(results[0].map(\.isNaN), values.map(\.isNaN), "\(op)")
            XCTAssertEqual(results[0].filter { !$0.isNaN }, values.filter { !$0.isNaN }, "\(op)")
        }
        for op in [UnaryOp.relu, .clamp(-0.5, 0.75)] {
            let results = try harness.compare("\(op) with NaNs", kernels: ["unary"], outputs: [out]) { device, side in
                try device.unary(op, a[side], out: out[side], count: 7)
            }
            XCTAssertEqual(results[0].map(\.isNaN), [true, false, true, false, false, true, false], "\(op)")
        }
    }

    /// NaN, ±∞ and a few ordinary values, the inputs of the non-finite tests.
    private static let specialValues: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 1, -1, 0.5, 3e38, -3e38]

    func testNonFiniteInputsAgreeWithReference() throws {
        let specials = Self.specialValues
        let count = specials.count
        // Every pair of special values.
        let a = try harness.floats(specials.flatMap { value in [Float](repeating: value, count: count) }, "a")
        let b = try harness.floats([[Float]](repeating: specials, count: count).flatMap { $0 }, "b")
        let pairs = count * count
        let layout = try XCTUnwrap(BroadcastShape.broadcasting([pairs], [pairs])).layout
        for op in BinaryOp.allCases {
            let out = try harness.floats([Float](repeating: 9, count: pairs), "out")
            try harness.compare("\(op) of special values", kernels: ["binary_rows"], outputs: [out]) { device, side in
                try device.binary(op, a[side], b[side], out: out[side], shape: layout)
            }
        }
        let ops: [UnaryOp] = [
            .negate, .exp, .log, .sqrt, .tanh, .sigmoid, .logSigmoid, .gelu, .silu, .relu, .scale(-1.75),
            .addScalar(0.625), .clamp(-0.5, 0.75), .square,
        ]
        for op in ops {
            let y = try harness.floats([Float](repeating: 9, count: pairs), "y")
            let dx = try harness.floats([Float](repeating: 9, count: pairs), "dx")
            try harness.compare("\(op) of special values", kernels: ["unary", "unary_backward"], outputs: [y, dx]) {
                device, side in
                try device.unary(op, a[side], out: y[side], count: pairs)
                try device.unaryBackward(op, x: a[side], dy: b[side], dx: dx[side], count: pairs)
            }
        }
        // Sums over rows holding one special value each (the ±3e38 rows overflow to ±∞), and
        // dropout, which gives 0 for a dropped NaN or ∞.
        let sums = try harness.floats([Float](repeating: 9, count: count), "sums")
        let squares = try harness.floats([9], "squares")
        let dropped = try harness.floats([Float](repeating: 9, count: pairs), "dropped")
        let results = try harness.compare(
            "sums and dropout of special values", kernels: ["sum_of_squares_partials", "dropout"],
            outputs: [sums, squares, dropped]
        ) { device, side in
            try device.reduceSum(a[side], out: sums[side], outer: count, reduced: count, inner: 1)
            try device.sumOfSquares(b[side], count: count, out: squares[side])
            try device.dropout(a[side], out: dropped[side], count: pairs, probability: 0.5, seed: 3)
        }
        XCTAssertEqual(results[0].prefix(3).map(\.isNaN), [true, false, false])
        XCTAssertTrue(results[1][0].isNaN)
    }

    // MARK: reductions

    func testReduceSumEveryAxisPosition() throws {
        var shapes: [(Int, Int, Int)] = []
        for n in elementwiseSizes {
            shapes += [(1, n, 129), (129, n, 1), (7, n, 33), (n, 7, 1), (1, 257, n), (n, 33, 7)]
        }
        // Rows long enough for several passes over segments, and enough contiguous rows for a
        // work-item per row on CPUs.
        shapes += [(1, 5000, 1), (3, 1000, 2), (2, 70000, 3), (1, 1, 1), (2000, 33, 1), (1100, 300, 1)]
        let before = harness.openCL.launchCounts
        for (outer, reduced, inner) in shapes {
            let x = try harness.floats(random.floats(outer * reduced * inner))
            let out = try harness.floats([Float](repeating: 0, count: outer * inner), "out")
            try harness.compare("reduceSum [\(outer), \(reduced), \(inner)]", kernels: [], outputs: [out]) {
                device, side in
                try device.reduceSum(x[side], out: out[side], outer: outer, reduced: reduced, inner: inner)
            }
        }
        // Both strategies met these shapes (rows only where the device takes it: CPUs).
        let rowsToo = harness.openCL.tuning.elementwise.contiguousRuns
        for kernel in ["reduce_sum_segments"] + (rowsToo ? ["reduce_sum_rows"] : []) {
            XCTAssertGreaterThan(harness.openCL.launchCounts[kernel, default: 0], before[kernel, default: 0], kernel)
        }
    }

    func testSumOfSquares() throws {
        // One float more than a GPU tile of sum_of_squares_partials (256 work-items × 16 float4s).
        for size in elementwiseSizes + [4 * 256 * 16 + 1, TestShapes.pick(2_000_003, small: 100_003)] {
            let x = try harness.floats(random.floats(size, in: -3...3))
            let out = try harness.floats([0, 7], "out")
            let first = try harness.compare(
                "sumOfSquares \(size)", kernels: ["sum_of_squares_partials", "sum_of_squares_final"],
                outputs: [out]
            ) { device, side in
                try device.sumOfSquares(x[side], count: size, out: out[side])
            }
            XCTAssertEqual(first[0][1], 7, "only out[0] is written")
        }
    }

    func testReductionsAreDeterministic() throws {
        let device = harness.openCL
        // Small shapes: still several tiles of sum_of_squares_partials and passes of reduce_sum_segments.
        let (count, reduced, inner) = TestShapes.pick((1_000_001, 1000, 1000), small: (100_001, 200, 500))
        let x = try device.makeBuffer(count: count, dtype: .float32, label: "x")
        try device.write(random.floats(count), to: x)
        let out = try device.makeBuffer(count: inner, dtype: .float32, label: "out")
        func run() throws -> [UInt32] {
            try device.sumOfSquares(x, count: count, out: out)
            let norm = try device.readFloats(out)[0]
            try device.reduceSum(x, out: out, outer: 1, reduced: reduced, inner: inner)
            let columns = try device.readFloats(out)
            try device.reduceSum(x, out: out, outer: 10, reduced: (count - 1) / 10, inner: 1)
            return try ([norm] + columns + device.readFloats(out)).map(\.bitPattern)
        }
        XCTAssertEqual(try run(), try run())
    }

    // MARK: dropout

    func testDropoutMatchesTheReferenceMaskExactly() throws {
        for probability: Float in [0, 0.1, 0.5, 1] {
            for size in elementwiseSizes + [10_007] {
                let seed: UInt64 = 0x1234_5678_9ABC_DEF0 &+ UInt64(size)
                // Ones show the mask and the scale bit for bit; random values check the product.
                for values in [[Float](repeating: 1, count: size), random.floats(size, in: -3...3)] {
                    let x = try harness.floats(values)
                    let y = try harness.floats([Float](repeating: 9, count: size), "y")
                    let results = try harness.compare(
                        "dropout p \(probability) size \(size)", kernels: ["dropout"],
                        outputs: [y]
                    ) { device, side in
                        try device.dropout(x[side], out: y[side], count: size, probability: probability, seed: seed)
                    }
                    let expected = try harness.reference.readFloats(y.reference)
                    XCTAssertEqual(
                        results[0].map(\.bitPattern), expected.map(\.bitPattern), "p \(probability) size \(size)")
                }
            }
        }
    }

    func testDropoutKeepsTheExpectedFractionAndBackwardIsTheSameCall() throws {
        let size = 100_000
        let seed: UInt64 = 42
        let x = try harness.floats(random.floats(size, in: 0.5...1))
        let dy = try harness.floats(random.floats(size, in: 0.5...1), "dy")
        let y = try harness.floats([Float](repeating: 0, count: size), "y")
        let results = try harness.compare("dropout forward and backward", kernels: ["dropout"], outputs: [y, dy]) {
            device, side in
            try device.dropout(x[side], out: y[side], count: size, probability: 0.1, seed: seed)
            try device.dropout(dy[side], out: dy[side], count: size, probability: 0.1, seed: seed)
        }
        let kept = results[0].filter { $0 != 0 }.count
        XCTAssertEqual(Double(kept) / Double(size), 0.9, accuracy: 0.005)
        XCTAssertEqual(results[0].map { $0 == 0 }, results[1].map { $0 == 0 }, "the gradient uses the forward mask")
        // Another seed, another mask.
        try harness.openCL.dropout(x.openCL, out: y.openCL, count: size, probability: 0.1, seed: seed + 1)
        XCTAssertNotEqual(try harness.openCL.readFloats(y.openCL).map { $0 == 0 }, results[0].map { $0 == 0 })
    }

    // MARK: errors

    func testBadArgumentsNameTheOperationAndSizes() throws {
        for side in ElementwiseSide.allCases {
            let device = harness.device(side)
            let small = try device.makeBuffer(count: 10, dtype: .float32, label: "small")
            let large = try device.makeBuffer(count: 100, dtype: .float32, label: "large")
            let ids = try device.makeBuffer(count: 10, dtype: .int32, label: "ids")
            harness.assertRejects(["fill", "small", "10", "12"], on: side) {
                try $0.fill(small, value: 1, offset: 2, count: 10)
            }
            harness.assertRejects(["copy2D", "small", "10", "23"], on: side) {
                try $0.copy2D(
                    from: large, sourceOffset: 0, sourceRowStride: 10, to: small, destinationOffset: 3,
                    destinationRowStride: 10, rows: 2, columns: 10, accumulate: false)
            }
            harness.assertRejects(["copy2D", "overlap"], on: side) {
                try $0.copy2D(
                    from: large, sourceOffset: 0, sourceRowStride: 10, to: large, destinationOffset: 0,
                    destinationRowStride: 4, rows: 2, columns: 5, accumulate: false)
            }
            let layout = try XCTUnwrap(BroadcastShape.broadcasting([10, 10], [10])).layout
            harness.assertRejects(["binary", "small", "10", "100"], on: side) {
                try $0.binary(.add, small, small, out: large, shape: layout)
            }
            harness.assertRejects(["unary", "small", "10", "50"], on: side) {
                try $0.unary(.exp, large, out: small, count: 50)
            }
            harness.assertRejects(["unaryBackward", "small", "10", "50"], on: side) {
                try $0.unaryBackward(.exp, x: large, dy: small, dx: large, count: 50)
            }
            harness.assertRejects(["reduceSum", "small", "10", "20"], on: side) {
                try $0.reduceSum(large, out: small, outer: 2, reduced: 5, inner: 10)
            }
            harness.assertRejects(["sumOfSquares", "int32"], on: side) {
                try $0.sumOfSquares(ids, count: 10, out: small)
            }
            harness.assertRejects(["dropout", "probability", "1.5"], on: side) {
                try $0.dropout(small, out: small, count: 10, probability: 1.5, seed: 1)
            }
        }
    }
}
