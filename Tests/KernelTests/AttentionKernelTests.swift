import Core
import OpenCLDevice
import ReferenceDevice
import TestSupport
import XCTest

/// A long sequence: several groups of 64 rows and tiles of 32 rows, the last ones partial. 70
/// under GPUTRAIN_TEST_SHAPES=small: still two groups and three tiles.
private let longLength = TestShapes.pick(129, small: 70)

/// Kernels/attention.cl against ReferenceDevice's attention: forward (out, logSumExp) and all
/// three gradients, over grouped heads, awkward lengths and head dims, and every mask.
final class AttentionKernelTests: XCTestCase {
    // MARK: Shapes

    func testUngroupedCausalAcrossLengths() throws {
        for (length, seed) in [(1, 1), (7, 2), (33, 3), (longLength, 4)] as [(Int, UInt64)] {
            try assertMatchesReference(
                AttentionProblem(
                    AttentionShape(batch: 2, queryHeads: 2, queryLength: length, headDim: 32), seed: seed))
        }
    }

    func testNonCausalAndUnequalLengths() throws {
        try assertMatchesReference(
            AttentionProblem(
                AttentionShape(batch: 2, queryHeads: 3, queryLength: 33, headDim: 32, causal: false), seed: 5))
        // More keys than queries, and more queries than keys.
        try assertMatchesReference(
            AttentionProblem(
                AttentionShape(batch: 1, queryHeads: 2, queryLength: 7, keyLength: 40, headDim: 7, causal: false),
                seed: 6))
        try assertMatchesReference(
            AttentionProblem(
                AttentionShape(batch: 1, queryHeads: 2, queryLength: 40, keyLength: 7, headDim: 7, causal: false),
                seed: 7))
        // Causal with more queries than keys: the first 33 queries sit before every key.
        try assertMatchesReference(
            AttentionProblem(
                AttentionShape(batch: 2, queryHeads: 2, queryLength: 40, keyLength: 7, headDim: 32), seed: 17))
    }

    func testGroupedHeads() throws {
        try assertMatchesReference(
            AttentionProblem(
                AttentionShape(batch: 2, queryHeads: 6, keyValueHeads: 2, queryLength: 33, headDim: 64), seed: 8))
        try assertMatchesReference(
            AttentionProblem(
                AttentionShape(batch: 1, queryHeads: 4, keyValueHeads: 1, queryLength: longLength, headDim: 7),
                seed: 9))
        try assertMatchesReference(
            AttentionProblem(
                AttentionShape(batch: 2, queryHeads: 4, keyValueHeads: 1, queryLength: 7, headDim: 32, causal: false),
                seed: 10))
    }

    func testHeadDimOneAndOddLongSequence() throws {
        try assertMatchesReference(
            AttentionProblem(
                AttentionShape(batch: 2, queryHeads: 2, queryLength: 33, headDim: 1), seed: 11))
        try assertMatchesReference(
            AttentionProblem(
                AttentionShape(batch: 1, queryHeads: 1, queryLength: 257, headDim: 7), seed: 12))
    }

    func testLargeScoresExerciseTheOnlineSoftmax() throws {
        // Peaked distributions whose maximum moves from tile to tile.
        try assertMatchesReference(
            AttentionProblem(
                AttentionShape(batch: 1, queryHeads: 2, queryLength: longLength, headDim: 32, scale: 1), seed: 13,
                range: -2...2))
    }

    // MARK: Masks

    func testLeftPaddedBatch() throws {
        // Batch b has 5·b padding keys in front; the padded queries see no key at all.
        var problem = AttentionProblem(
            AttentionShape(batch: 3, queryHeads: 4, keyValueHeads: 2, queryLength: 33, headDim: 32), seed: 14)
        problem.keyValid = problem.leftPadding { b in 5 * b }
        try assertMatchesReference(problem)
    }

    func testPackedSegments() throws {
        var problem = AttentionProblem(
            AttentionShape(batch: 2, queryHeads: 2, queryLength: longLength, headDim: 32), seed: 15)
        problem.setSegments { b, position in (position + 11 * b) / 40 }
        try assertMatchesReference(problem)
        // Non-causal packed documents with padding at the end.
        var padded = AttentionProblem(
            AttentionShape(batch: 2, queryHeads: 2, queryLength: 33, headDim: 7, causal: false), seed: 16)
        padded.setSegments { _, position in position < 10 ? 0 : position < 25 ? 1 : 2 }
        padded.keyValid = (0..<2).flatMap { _ in (0..<33).map { Int32($0 < 30 ? 1 : 0) } }
        try assertMatchesReference(padded)
    }

    func testDecodeFormAgainstACache() throws {
        for queryLength in [1, 3] {
            var problem = AttentionProblem(
                AttentionShape(
                    batch: 2, queryHeads: 6, keyValueHeads: 2, queryLength: queryLength, keyLength: 33,
                    headDim: 64), seed: UInt64(20 + queryLength))
            problem.keyValid = problem.leftPadding { b in 4 * b }
            try assertMatchesReference(problem)
        }
    }

    func testFullyMaskedRowsGiveZerosAndNegativeInfinity() throws {
        var problem = AttentionProblem(
            AttentionShape(batch: 2, queryHeads: 2, queryLength: 7, headDim: 32), seed: 30)
        problem.keyValid = (0..<2).flatMap { b in (0..<7).map { _ in Int32(b == 0 ? 1 : 0) } }
        let device = try TestDevices.openCL.get()
        let result = try problem.run(on: device)
        let perBatch = problem.shape.queryCount / 2
        XCTAssertTrue(result.out[perBatch...].allSatisfy { $0 == 0 })
        XCTAssertTrue(result.logSumExp[(problem.shape.logSumExpCount / 2)...].allSatisfy { $0 == -.infinity })
        XCTAssertTrue(result.dq[perBatch...].allSatisfy { $0 == 0 })
        XCTAssertTrue(result.dk[(problem.shape.keyCount / 2)...].allSatisfy { $0 == 0 })
        XCTAssertTrue(result.dv[(problem.shape.keyCount / 2)...].allSatisfy { $0 == 0 })
        try assertMatchesReference(problem)
    }

    /// NaN and ±∞ propagate to the rows and keys that see them, as in the reference, and no
    /// further: not to earlier queries (causality), not from a padding key, and not into rows
    /// that see no key at all, which keep out 0, logSumExp −∞ and zero gradients.
    func testNonFiniteInputsAgreeWithReference() throws {
        let shape = AttentionShape(batch: 2, queryHeads: 2, keyValueHeads: 1, queryLength: 40, headDim: 8)
        var problem = AttentionProblem(shape, seed: 50)
        let d = shape.headDim
        func query(_ b: Int, _ i: Int, _ h: Int) -> Range<Int> {
            let start = ((b * shape.queryLength + i) * shape.queryHeads + h) * d
            return start..<(start + d)
        }
        func key(_ b: Int, _ j: Int) -> Range<Int> {
            let start = (b * shape.keyLength + j) * d
            return start..<(start + d)
        }
        // Batch 0: a NaN query (every score of its row NaN), an infinite query, a NaN key and a
        // NaN value further on, a NaN output gradient, and a padding key full of NaN.
        for c in query(0, 3, 0) { problem.q[c] = .nan }
        problem.q[query(0, 10, 1).lowerBound] = .infinity
        problem.k[key(0, 20).lowerBound + 1] = .nan
        problem.v[key(0, 25).lowerBound + 2] = -.infinity
        problem.dOut[query(0, 15, 1).lowerBound] = .nan
        for c in key(0, 7) { (problem.k[c], problem.v[c]) = (.nan, .nan) }
        // Batch 1 sees no key, and its rows are full of NaN.
        problem.keyValid = (0..<2).flatMap { b in (0..<40).map { j in Int32(b == 0 && j != 7 ? 1 : 0) } }
        for i in 0..<40 {
            for h in 0..<2 {
                for c in query(1, i, h) { (problem.q[c], problem.dOut[c]) = (.nan, .nan) }
            }
            for c in key(1, i) { (problem.k[c], problem.v[c]) = (.infinity, .nan) }
        }

        let expected = try problem.run(on: TestDevices.reference())
        XCTAssertTrue(expected.out[query(0, 3, 0)].allSatisfy(\.isNaN), "the NaN query's output")
        XCTAssertTrue(expected.out[query(0, 10, 1)].allSatisfy(\.isNaN), "the infinite query's output")
        let clean = (0..<20).flatMap { i in [0, 1].map { h in (i, h) } }.filter { $0 != (3, 0) && $0 != (10, 1) }
        XCTAssertTrue(clean.allSatisfy { expected.out[query(0, $0.0, $0.1)].allSatisfy(\.isFinite) }, "rows before")
        XCTAssertTrue(expected.out[query(0, 25, 0)].allSatisfy(\.isNaN), "rows after the NaN key")
        XCTAssertTrue(expected.dk[key(0, 7)].allSatisfy { $0 == 0 }, "the padding key's gradient")
        let secondBatch = shape.queryCount / 2
        XCTAssertTrue(expected.out[secondBatch...].allSatisfy { $0 == 0 }, "rows that see no key")
        XCTAssertTrue(expected.logSumExp[(shape.logSumExpCount / 2)...].allSatisfy { $0 == -.infinity })
        XCTAssertTrue(expected.dq[secondBatch...].allSatisfy { $0 == 0 })
        XCTAssertTrue(expected.dk[(shape.keyCount / 2)...].allSatisfy { $0 == 0 })
        XCTAssertTrue(expected.dv[(shape.keyCount / 2)...].allSatisfy { $0 == 0 })
        try assertMatchesReference(problem)
        try assertMatchesReference(problem, tuning: .gpu)
    }

    func testGPUTuningOnThisDevice() throws {
        // The GPU configuration (tiles copied to local memory, groups of 64) on whatever device
        // runs the tests, with a head dim that the CPU configuration reads in place.
        var problem = AttentionProblem(
            AttentionShape(batch: 2, queryHeads: 4, keyValueHeads: 2, queryLength: longLength, headDim: 64), seed: 35)
        problem.keyValid = problem.leftPadding { b in 9 * b }
        problem.setSegments { _, position in position / 50 }
        try assertMatchesReference(problem, tuning: .gpu)
        try assertMatchesReference(
            AttentionProblem(
                AttentionShape(batch: 1, queryHeads: 2, queryLength: 3, keyLength: 33, headDim: 64, causal: false),
                seed: 36),
            tuning: .gpu)
    }

    // MARK: Determinism and errors

    func testBackwardIsBitIdenticalAcrossRuns() throws {
        var problem = AttentionProblem(
            AttentionShape(batch: 2, queryHeads: 4, keyValueHeads: 2, queryLength: longLength, headDim: 32), seed: 40)
        problem.keyValid = problem.leftPadding { b in 3 * b }
        let device = try TestDevices.openCL.get()
        let first = try problem.run(on: device)
        let second = try problem.run(on: device)
        XCTAssertEqual(first.all.map { $0.map(\.bitPattern) }, second.all.map { $0.map(\.bitPattern) })
    }

    func testShapeMismatchNamesOperationAndSizes() throws {
        let shape = AttentionShape(batch: 1, queryHeads: 2, queryLength: 4, headDim: 8)
        let devices: [Device] = [try TestDevices.openCL.get(), TestDevices.reference()]
        for device in devices {
            let q = try device.makeBuffer(count: shape.queryCount - 1, dtype: .float32, label: "q")
            let k = try device.makeBuffer(count: shape.keyCount, dtype: .float32, label: "k")
            let out = try device.makeBuffer(count: shape.queryCount, dtype: .float32, label: "out")
            let lse = try device.makeBuffer(count: shape.logSumExpCount, dtype: .float32, label: "lse")
            XCTAssertThrowsError(
                try device.attention(shape, q: q, k: k, v: k, masks: .none, out: out, logSumExp: lse)
            ) { error in
                XCTAssertEqual(
                    error as? DeviceError, .shapeMismatch(operation: "attention ('q')", lhs: [63], rhs: [64]))
            }
            XCTAssertThrowsError(
                try device.attentionBackward(
                    shape, q: out, k: k, v: k, masks: .none, out: out, logSumExp: lse, dOut: out,
                    dq: out, dk: q, dv: k)
            ) { error in
                XCTAssertEqual(
                    error as? DeviceError, .shapeMismatch(operation: "attentionBackward ('q')", lhs: [63], rhs: [64]))
            }
            var grouped = shape
            grouped.keyValueHeads = 3
            XCTAssertThrowsError(
                try device.attention(grouped, q: out, k: k, v: k, masks: .none, out: out, logSumExp: lse)
            ) { error in
                XCTAssertTrue("\(error)".contains("queryHeads 2 is not a multiple of keyValueHeads 3"), "\(error)")
            }
        }
    }

    // MARK: Helpers

    /// Runs `problem` on the OpenCL device and the reference, asserts every output agrees within
    /// `Tolerance.kernel` and that the three kernels really ran.
    private func assertMatchesReference(
        _ problem: AttentionProblem, tuning: AttentionTuning? = nil, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let device = try TestDevices.openCL.get()
        let kernels = ["attention_forward", "attention_backward_query", "attention_backward_key"]
        let before = kernels.map { device.launchCounts[$0, default: 0] }
        let actual = try problem.run(on: device, tuning: tuning)
        let after = kernels.map { device.launchCounts[$0, default: 0] }
        for (kernel, (b, a)) in zip(kernels, zip(before, after)) {
            XCTAssertEqual(a, b + 1, "\(kernel) did not run", file: file, line: line)
        }
        let expected = try problem.run(on: TestDevices.reference())
        for (name, (a, e)) in zip(AttentionResults.names, zip(actual.all, expected.all)) {
            if let mismatch = Tolerance.kernel.firstMismatch(a, e) {
                XCTFail("\(name) of \(problem.shape): \(mismatch)", file: file, line: line)
            }
        }
    }
}

/// Outputs of one forward and backward pass.
private struct AttentionResults {
    var out, logSumExp, dq, dk, dv: [Float]
    static let names = ["out", "logSumExp", "dq", "dk", "dv"]
    var all: [[Float]] { [out, logSumExp, dq, dk, dv] }
}

/// Seeded inputs of one attention call, with optional masks.
private struct AttentionProblem {
    var shape: AttentionShape
    var q, k, v, dOut: [Float]
    var keyValid: [Int32]?
    var querySegments: [Int32]?
    var keySegments: [Int32]?

    init(_ shape: AttentionShape, seed: UInt64, range: ClosedRange<Float> = -1...1) {
        var random = TestRandom(seed: seed)
        self.shape = shape
        q = random.floats(shape.queryCount, in: range)
        k = random.floats(shape.keyCount, in: range)
        v = random.floats(shape.keyCount)
        dOut = random.floats(shape.queryCount)
    }

    /// keyValid for a left-padded batch: the first `padding(b)` keys of batch b are padding.
    func leftPadding(_ padding: (Int) -> Int) -> [Int32] {
        (0..<shape.batch).flatMap { b in (0..<shape.keyLength).map { Int32($0 >= padding(b) ? 1 : 0) } }
    }

    /// Segments by position (a query at position keyLength − queryLength + i).
    mutating func setSegments(_ segment: (_ b: Int, _ position: Int) -> Int) {
        let offset = shape.keyLength - shape.queryLength
        querySegments = (0..<shape.batch).flatMap { b in (0..<shape.queryLength).map { Int32(segment(b, offset + $0)) }
        }
        keySegments = (0..<shape.batch).flatMap { b in (0..<shape.keyLength).map { Int32(segment(b, $0)) } }
    }

    /// Forward, then backward from the forward's own out and logSumExp, on `device` (with
    /// `tuning` when it is the OpenCL device and one is given).
    func run(on device: Device, tuning: AttentionTuning? = nil) throws -> AttentionResults {
        func floats(_ values: [Float], _ label: String) throws -> DeviceBuffer {
            let buffer = try device.makeBuffer(count: values.count, dtype: .float32, label: label)
            try device.write(values, to: buffer)
            return buffer
        }
        func ints(_ values: [Int32]?, _ label: String) throws -> DeviceBuffer? {
            guard let values else { return nil }
            let buffer = try device.makeBuffer(count: values.count, dtype: .int32, label: label)
            try device.write(values, to: buffer)
            return buffer
        }
        let (q, k, v, dOut) = (try floats(q, "q"), try floats(k, "k"), try floats(v, "v"), try floats(dOut, "dOut"))
        let masks = AttentionMasks(
            keyValid: try ints(keyValid, "keyValid"), querySegments: try ints(querySegments, "querySegments"),
            keySegments: try ints(keySegments, "keySegments"))
        let out = try device.makeBuffer(count: shape.queryCount, dtype: .float32, label: "out")
        let logSumExp = try device.makeBuffer(count: shape.logSumExpCount, dtype: .float32, label: "logSumExp")
        let dq = try device.makeBuffer(count: shape.queryCount, dtype: .float32, label: "dq")
        let dk = try device.makeBuffer(count: shape.keyCount, dtype: .float32, label: "dk")
        let dv = try device.makeBuffer(count: shape.keyCount, dtype: .float32, label: "dv")
        if let openCL = device as? OpenCLDevice, let tuning {
            try openCL.attention(shape, q: q, k: k, v: v, masks: masks, out: out, logSumExp: logSumExp, tuning: tuning)
            try openCL.attentionBackward(
                shape, q: q, k: k, v: v, masks: masks, out: out, logSumExp: logSumExp, dOut: dOut, dq: dq, dk: dk,
                dv: dv, tuning: tuning)
        } else {
            try device.attention(shape, q: q, k: k, v: v, masks: masks, out: out, logSumExp: logSumExp)
            try device.attentionBackward(
                shape, q: q, k: k, v: v, masks: masks, out: out, logSumExp: logSumExp, dOut: dOut, dq: dq, dk: dk,
                dv: dv)
        }
        return AttentionResults(
            out: try device.readFloats(out), logSumExp: try device.readFloats(logSumExp),
            dq: try device.readFloats(dq), dk: try device.readFloats(dk), dv: try device.readFloats(dv))
    }
}
