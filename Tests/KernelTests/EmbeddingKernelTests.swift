import Core
import Foundation
import OpenCLDevice
import ReferenceDevice
import TestSupport
import XCTest

/// Embedding lookup, its gradient and rotary embedding (embedding.cl) against the reference.
final class EmbeddingKernelTests: XCTestCase {
    var harness: ElementwiseHarness!
    var random = TestRandom(seed: 29)

    override func setUpWithError() throws {
        harness = try ElementwiseHarness()
    }

    func testEmbeddingLooksUpRows() throws {
        for rows in elementwiseSizes {
            for dimension in elementwiseSizes where rows * dimension <= 129 * 257 {
                for count in [1, 7, 33] {
                    let table = try harness.floats(random.floats(rows * dimension), "table")
                    let ids = try harness.ints(random.ints(count, below: rows))
                    let out = try harness.floats([Float](repeating: 9, count: count * dimension), "out")
                    try harness.compare(
                        "embedding \(rows)×\(dimension), \(count) ids", kernels: ["embedding"],
                        outputs: [out]
                    ) { device, side in
                        try device.embedding(
                            table: table[side], ids: ids[side], out: out[side], count: count, dimension: dimension)
                    }
                }
            }
        }
    }

    func testEmbeddingBackwardSumsRepeatedIdsAndZerosOtherRows() throws {
        for rows in elementwiseSizes {
            for dimension in [1, 7, 33, 129] {
                for count in [1, 7, 129, 257] {
                    // Few distinct ids (at most 5 of `rows`), so most are repeated and most rows are missed.
                    let ids = try harness.ints(
                        random.ints(count, below: min(rows, 5)).map { $0 * Int32(rows / min(rows, 5)) })
                    let dOut = try harness.floats(random.floats(count * dimension), "dOut")
                    let dTable = try harness.floats(random.floats(rows * dimension), "dTable")
                    let results = try harness.compare(
                        "embeddingBackward \(rows)×\(dimension), \(count) ids",
                        kernels: ["embedding_links", "embedding_backward"], outputs: [dTable]
                    ) { device, side in
                        try device.embeddingBackward(
                            ids: ids[side], dOut: dOut[side], dTable: dTable[side], count: count, dimension: dimension,
                            rows: rows)
                    }
                    // Same order of summation as the reference: equal bits, not just close.
                    let expected = try harness.reference.readFloats(dTable.reference)
                    XCTAssertEqual(results[0].map(\.bitPattern), expected.map(\.bitPattern))
                }
            }
        }
    }

    func testEmbeddingBackwardIsDeterministicAtGPT2Size() throws {
        let device = harness.openCL
        // Small shapes: a table under Oclgrind's largest buffer (128 MiB), still many groups of rows.
        let (rows, dimension, count) = TestShapes.pick((50257, 768, 512), small: (5003, 96, 300))
        let endOfText = Int32(rows - 1)
        let ids = try device.makeBuffer(count: count, dtype: .int32, label: "ids")
        var values = random.ints(count, below: rows)
        for i in stride(from: 0, to: count, by: 3) { values[i] = endOfText }  // a repeated end-of-text token
        try device.write(values, to: ids)
        let dOut = try device.makeBuffer(count: count * dimension, dtype: .float32, label: "dOut")
        let gradients = random.floats(count * dimension)
        try device.write(gradients, to: dOut)
        let dTable = try device.makeBuffer(count: rows * dimension, dtype: .float32, label: "dTable")
        func run() throws -> [Float] {
            try device.embeddingBackward(
                ids: ids, dOut: dOut, dTable: dTable, count: count, dimension: dimension, rows: rows)
            return try device.readFloats(dTable)
        }
        let first = try run()
        let second = try run()
        let identical = first.withUnsafeBytes { a in
            second.withUnsafeBytes { b in a.count == b.count && memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
        }
        XCTAssertTrue(identical, "two runs differ")
        // Spot checks against a host sum: the repeated token's row, and a row no token names.
        var expected = [Float](repeating: 0, count: dimension)
        for (i, id) in values.enumerated() where id == endOfText {
            for c in 0..<dimension { expected[c] += gradients[i * dimension + c] }
        }
        XCTAssertEqual(Array(first[(Int(endOfText) * dimension)...]), expected)
        let missed = try XCTUnwrap((0..<rows).first { !values.contains(Int32($0)) })
        XCTAssertTrue(first[(missed * dimension)..<((missed + 1) * dimension)].allSatisfy { $0 == 0 })
    }

    func testRopeForwardAndInverse() throws {
        for heads in [1, 3, 5] {
            for headDim in [2, 6, 14, 64] {
                for tokens in [1, 7, 33] {
                    let count = tokens * heads * headDim
                    let x = try harness.floats(random.floats(count), "x")
                    // Odd positions, large ones and out of order, as after left padding or in a KV cache.
                    let positions = try harness.ints(random.ints(tokens, below: 4099), "positions")
                    let frequencies = (0..<headDim / 2).map { Float(1 / pow(10000, Double(2 * $0) / Double(headDim))) }
                    let invFrequencies = try harness.floats(frequencies, "invFrequencies")
                    let y = try harness.floats([Float](repeating: 0, count: count), "y")
                    let back = try harness.floats([Float](repeating: 0, count: count), "back")
                    try harness.compare(
                        "rope \(tokens) tokens × \(heads) heads × \(headDim)", kernels: ["rope"],
                        outputs: [y, back]
                    ) { device, side in
                        try device.rope(
                            x[side], out: y[side], positions: positions[side], invFrequencies: invFrequencies[side],
                            tokens: tokens, heads: heads, headDim: headDim, inverse: false)
                        try device.rope(
                            y[side], out: back[side], positions: positions[side],
                            invFrequencies: invFrequencies[side],
                            tokens: tokens, heads: heads, headDim: headDim, inverse: true)
                    }
                    // The inverse undoes the rotation.
                    let restored = try harness.openCL.readFloats(back.openCL)
                    let original = try harness.openCL.readFloats(x.openCL)
                    XCTAssertNil(Tolerance(absolute: 1e-5, relative: 1e-4).firstMismatch(restored, original))
                }
            }
        }
    }

    func testRopeInPlace() throws {
        let (tokens, heads, headDim) = (7, 3, 6)
        let x = try harness.floats(random.floats(tokens * heads * headDim), "x")
        let positions = try harness.ints([0, 1, 2, 3, 10, 100, 1000], "positions")
        let invFrequencies = try harness.floats([1, 0.1, 0.01], "invFrequencies")
        try harness.compare("rope in place", kernels: ["rope"], outputs: [x]) { device, side in
            try device.rope(
                x[side], out: x[side], positions: positions[side], invFrequencies: invFrequencies[side],
                tokens: tokens, heads: heads, headDim: headDim, inverse: false)
        }
    }

    /// NaN and ±∞ in the table, the output gradient, x and the frequencies go where the
    /// reference sends them.
    func testNonFiniteInputsAgreeWithReference() throws {
        let (rows, dimension) = (5, 6)
        var tableValues = random.floats(rows * dimension)
        (tableValues[2 * dimension + 1], tableValues[3 * dimension], tableValues[3 * dimension + 5]) =
            (.nan, .infinity, -.infinity)
        let table = try harness.floats(tableValues, "table")
        let idValues: [Int32] = [2, 0, 3, 2, 4]
        let ids = try harness.ints(idValues)
        var gradient = random.floats(idValues.count * dimension)
        (gradient[1], gradient[2 * dimension + 3], gradient[4 * dimension]) = (.nan, .infinity, -.infinity)
        let dOut = try harness.floats(gradient, "dOut")
        let out = try harness.floats([Float](repeating: 9, count: idValues.count * dimension), "out")
        let dTable = try harness.floats([Float](repeating: 9, count: rows * dimension), "dTable")
        let results = try harness.compare(
            "embedding with non-finite values", kernels: ["embedding", "embedding_backward"], outputs: [out, dTable]
        ) { device, side in
            try device.embedding(table: table[side], ids: ids[side], out: out[side], count: 5, dimension: dimension)
            try device.embeddingBackward(
                ids: ids[side], dOut: dOut[side], dTable: dTable[side], count: 5, dimension: dimension, rows: rows)
        }
        XCTAssertTrue(results[0][1].isNaN && results[0][2 * dimension] == .infinity && results[0][dimension].isFinite)
        XCTAssertTrue(results[1][2 * dimension + 1].isNaN && results[1][1 * dimension + 1].isFinite)

        let (tokens, heads, headDim) = (3, 2, 4)
        var xValues = random.floats(tokens * heads * headDim)
        (xValues[0], xValues[headDim + 3], xValues[2 * heads * headDim + 1]) = (.nan, .infinity, -.infinity)
        let x = try harness.floats(xValues, "x")
        let positions = try harness.ints([0, 7, 300], "positions")
        for frequencies: [Float] in [[1, 0.01], [.infinity, 0.01], [.nan, 0.01]] {
            let invFrequencies = try harness.floats(frequencies, "invFrequencies")
            let y = try harness.floats([Float](repeating: 9, count: xValues.count), "y")
            try harness.compare(
                "rope with non-finite values, frequencies \(frequencies)", kernels: ["rope"], outputs: [y]
            ) {
                device, side in
                try device.rope(
                    x[side], out: y[side], positions: positions[side], invFrequencies: invFrequencies[side],
                    tokens: tokens, heads: heads, headDim: headDim, inverse: false)
            }
        }
    }

    func testBadArgumentsNameTheOperationAndSizes() throws {
        for side in ElementwiseSide.allCases {
            let device = harness.device(side)
            let table = try device.makeBuffer(count: 40, dtype: .float32, label: "table")
            let ids = try device.makeBuffer(count: 4, dtype: .int32, label: "ids")
            let out = try device.makeBuffer(count: 30, dtype: .float32, label: "out")
            let positions = try device.makeBuffer(count: 4, dtype: .int32, label: "positions")
            harness.assertRejects(["embedding", "out", "30", "40"], on: side) {
                try $0.embedding(table: table, ids: ids, out: out, count: 4, dimension: 10)
            }
            harness.assertRejects(["embeddingBackward", "table", "40", "50"], on: side) {
                try $0.embeddingBackward(ids: ids, dOut: table, dTable: table, count: 4, dimension: 10, rows: 5)
            }
            harness.assertRejects(["embeddingBackward", "ids", "4", "5"], on: side) {
                try $0.embeddingBackward(ids: ids, dOut: table, dTable: table, count: 5, dimension: 2, rows: 5)
            }
            harness.assertRejects(["rope", "headDim", "even", "5"], on: side) {
                try $0.rope(
                    table, out: table, positions: positions, invFrequencies: table,
                    tokens: 4, heads: 2, headDim: 5, inverse: false)
            }
            harness.assertRejects(["rope", "out", "30", "32"], on: side) {
                try $0.rope(
                    table, out: out, positions: positions, invFrequencies: table,
                    tokens: 4, heads: 2, headDim: 4, inverse: false)
            }
        }
    }

    /// An id outside the table is an error on both devices, in the same words: the reference
    /// throws from the call, the OpenCL device from its next read or synchronize.
    func testOutOfRangeIdsAreErrorsOnBothDevices() throws {
        for bad: Int32 in [-1, 4] {
            let words = ["id \(bad) at position 1 is outside the table's 4 rows"]
            for side in ElementwiseSide.allCases {
                let device = harness.device(side)
                let table = try device.makeBuffer(count: 8, dtype: .float32, label: "table")
                let ids = try device.makeBuffer(count: 3, dtype: .int32, label: "ids")
                try device.write([1, bad, 3], to: ids)
                let out = try device.makeBuffer(count: 6, dtype: .float32, label: "out")
                harness.assertRejects(["embedding:"] + words, on: side) { device in
                    try device.embedding(table: table, ids: ids, out: out, count: 3, dimension: 2)
                    _ = try device.readFloats(out)
                }
                harness.assertRejects(["embeddingBackward:"] + words, on: side) { device in
                    try device.embeddingBackward(ids: ids, dOut: out, dTable: table, count: 3, dimension: 2, rows: 4)
                    try device.synchronize()
                }
            }
        }
    }

    /// On OpenCL a bad id gives a NaN row, never a plausible one; its gradient touches no row;
    /// the error is thrown once, and the device works on.
    func testOutOfRangeIdsGiveNaNRowsOnOpenCL() throws {
        let device = harness.openCL
        let table = try device.makeBuffer(count: 8, dtype: .float32, label: "table")
        try device.write([1, 2, 3, 4, 5, 6, 7, 8] as [Float], to: table)
        let ids = try device.makeBuffer(count: 3, dtype: .int32, label: "ids")
        try device.write([1, 9, 3] as [Int32], to: ids)
        let out = try device.makeBuffer(count: 6, dtype: .float32, label: "out")
        try device.embedding(table: table, ids: ids, out: out, count: 3, dimension: 2)
        XCTAssertThrowsError(try device.readFloats(out))
        let rows = try device.readFloats(out)
        XCTAssertEqual(rows[0..<2] + rows[4..<6], [3, 4, 7, 8])
        XCTAssertTrue(rows[2..<4].allSatisfy(\.isNaN), "\(rows)")
        try device.write([1, 2, 3, 4, 5, 6] as [Float], to: out)
        try device.embeddingBackward(ids: ids, dOut: out, dTable: table, count: 3, dimension: 2, rows: 4)
        XCTAssertThrowsError(try device.synchronize())
        XCTAssertEqual(try device.readFloats(table), [0, 0, 1, 2, 0, 0, 5, 6])
        try device.write([1, 0, 3] as [Int32], to: ids)
        try device.embedding(table: table, ids: ids, out: out, count: 3, dimension: 2)
        XCTAssertEqual(try device.readFloats(out), [1, 2, 0, 0, 5, 6])
    }
}
