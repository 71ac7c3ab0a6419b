import Core
import ReferenceDevice
import TestSupport
import XCTest

@testable import OpenCLDevice

/// Kernels/matmul.cl (both designs: `.packed` for CPUs, `.tiled` for GPUs, each forced on this
/// device) against `ReferenceDevice.matmul`.
final class MatmulKernelTests: XCTestCase {
    private let transposes = [(false, false), (false, true), (true, false), (true, true)]
    /// Sizes at which a tile of any design (MR 6/8, NR 16/32, KC 256, 64×64 tiles…) divides
    /// badly, or is exceeded; the small shapes' 70 still exceeds a 64×64 tile and the packed
    /// kernel's GPU blocks (KC 32, strips of 64), which are the tunings Oclgrind gets.
    private let sizes = TestShapes.pick([1, 7, 33, 129, 257], small: [1, 7, 33, 70])

    private func device() throws -> OpenCLDevice { try TestDevices.openCL.get() }

    /// Runs `shape` on both devices from the same seeded A, B and C and compares the whole of C.
    /// `fillC` replaces C's initial values (e.g. NaN, to show that β = 0 does not read it);
    /// `edit` changes A, B and C before both runs. Returns the reference's C.
    @discardableResult
    private func check(
        _ shape: MatmulShape, design: MatmulKernelDesign, seed: UInt64, fillC: Float? = nil,
        file: StaticString = #filePath, line: UInt = #line,
        edit: (inout [Float], inout [Float], inout [Float]) -> Void = { _, _, _ in }
    ) throws -> [Float] {
        let gpu = try device()
        let previous = gpu.tuning.matmulDesign
        gpu.tuning.matmulDesign = design
        defer { gpu.tuning.matmulDesign = previous }
        let reference = TestDevices.reference()
        var random = TestRandom(seed: seed)
        let counts = shape.requiredCounts
        var aValues = random.floats(counts.a)
        var bValues = random.floats(counts.b)
        var cValues = fillC.map { [Float](repeating: $0, count: counts.c) } ?? random.floats(counts.c)
        edit(&aValues, &bValues, &cValues)

        func run(_ device: Device) throws -> [Float] {
            let a = try device.makeBuffer(count: counts.a, dtype: .float32, label: "a")
            let b = try device.makeBuffer(count: counts.b, dtype: .float32, label: "b")
            let c = try device.makeBuffer(count: counts.c, dtype: .float32, label: "c")
            try device.write(aValues, to: a)
            try device.write(bValues, to: b)
            try device.write(cValues, to: c)
            try device.matmul(shape, a: a, b: b, c: c)
            return try device.readFloats(c)
        }

        let kernel = design == .packed ? "matmul_packed" : "matmul_tiled"
        let launches = gpu.launchCounts[kernel, default: 0]
        let actual = try run(gpu)
        let expected = try run(reference)
        XCTAssertGreaterThan(
            gpu.launchCounts[kernel, default: 0], launches, "\(kernel) did not run", file: file, line: line)
        if let mismatch = Tolerance.kernel.firstMismatch(actual, expected) {
            XCTFail(
                "\(design) \(shape.operationName) α \(shape.alpha) β \(shape.beta): \(mismatch)", file: file, line: line
            )
        }
        return expected
    }

    /// Every transpose combination; m, n and k each over `sizes` with the other two at awkward values.
    func testTransposesAndSizes() throws {
        for design in MatmulKernelDesign.allCases {
            for (transposeA, transposeB) in transposes {
                for size in sizes {
                    for (m, n, k) in [(size, 23, 37), (13, size, 37), (13, 23, size)] {
                        try check(
                            MatmulShape(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB),
                            design: design, seed: UInt64(m * 1_000_000 + n * 1000 + k))
                    }
                }
            }
        }
    }

    /// A product big enough to need several strips, row blocks and k slices of the packed kernel.
    func testLargeProductSplitAcrossWorkItems() throws {
        for design in MatmulKernelDesign.allCases {
            for (transposeA, transposeB) in [(false, false), (true, true)] {
                // Small shapes: still several strips and k slices of the GPU tuning's packed blocks.
                let (n, k) = TestShapes.pick((600, 270), small: (150, 70))
                try check(
                    MatmulShape(
                        m: 40, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                        alpha: 0.5, beta: 2), design: design, seed: 7)
            }
        }
    }

    /// The tile sizes chosen for other devices (AVX-512 CPUs: 8×32 micro-kernel of 16-wide vectors;
    /// GPUs: small packed blocks, 64×64 tiles) compile and compute the same here.
    func testOtherDevicesTunings() throws {
        let gpu = try device()
        let previous = gpu.tuning.matmul
        defer { gpu.tuning.matmul = previous }
        // Both variants' tile sizes (the CPU one with AVX-512's micro-kernel), fitted to this device.
        for cpuVariant in [true, false] {
            let tuning = MatmulTuning.forDevice(
                cpuVariant: cpuVariant, nativeVectorWidth: 16, localMemoryBytes: gpu.info.localMemoryBytes,
                maxWorkGroupSize: gpu.info.maxWorkGroupSize)
            gpu.tuning.matmul = tuning
            for design in MatmulKernelDesign.allCases {
                for (m, n, k) in [(33, 70, 129), (9, 257, 40)] {
                    try check(
                        MatmulShape(m: m, n: n, k: k, transposeA: m == 9, alpha: 1.5, beta: 0.5),
                        design: design, seed: UInt64(m + n + k))
                }
            }
        }
    }

    func testBatchStrides() throws {
        let (m, n, k) = (9, 21, 35)
        let shapes = [
            MatmulShape(batch: 3, m: m, n: n, k: k),
            // One A (or B) shared by the batch, as a weight is.
            MatmulShape(batch: 3, m: m, n: n, k: k, transposeB: true, strideA: 0),
            MatmulShape(batch: 4, m: m, n: n, k: k, transposeA: true, strideB: 0),
            // Gaps between the items.
            MatmulShape(batch: 2, m: m, n: n, k: k, strideA: m * k + 5, strideB: k * n + 3, strideC: m * n + 7),
            // A C stride of 0: the items add into one C, in order.
            MatmulShape(batch: 3, m: m, n: n, k: k, strideC: 0, beta: 1),
            MatmulShape(
                batch: 3, m: m, n: n, k: k, transposeA: true, transposeB: true, strideC: 0, alpha: 2, beta: 0.5),
        ]
        for design in MatmulKernelDesign.allCases {
            for (index, shape) in shapes.enumerated() {
                try check(shape, design: design, seed: UInt64(100 + index))
            }
        }
    }

    func testAlphaBeta() throws {
        for design in MatmulKernelDesign.allCases {
            for (alpha, beta) in [(Float(0.5), Float(0)), (1, 1), (2, -0.25)] {
                let k = TestShapes.pick(300, small: 70)
                try check(MatmulShape(m: 20, n: 40, k: k, alpha: alpha, beta: beta), design: design, seed: 3)
            }
            // β = 0 must not read C: NaN there stays out of the result.
            try check(MatmulShape(m: 20, n: 40, k: 30, alpha: 1.5), design: design, seed: 4, fillC: .nan)
        }
    }

    /// NaN and ±∞ in A, B and C reach exactly the elements of C that they reach on the
    /// reference (C only when β ≠ 0), in every design and transpose.
    func testNonFiniteInputsAgreeWithReference() throws {
        let (m, n, k) = (13, 23, 37)
        for design in MatmulKernelDesign.allCases {
            for (transposeA, transposeB) in transposes {
                for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (0, 1)] {
                    let shape = MatmulShape(
                        m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta)
                    let c = try check(shape, design: design, seed: 60) { a, b, c in
                        (a[5], a[k + 3], a[4 * k + 1]) = (.nan, .infinity, -.infinity)
                        (b[7], b[3 * n + 2]) = (.infinity, .nan)
                        (c[3], c[50], c[51]) = (.nan, .infinity, -.infinity)
                    }
                    XCTAssertTrue(c.contains { $0.isNaN } && c.contains { $0.isFinite }, "\(shape.operationName)")
                }
            }
        }
    }

    func testDeterministic() throws {
        let gpu = try device()
        let (m, n, k) = TestShapes.pick((100, 300, 600), small: (70, 130, 40))
        let shape = MatmulShape(m: m, n: n, k: k, transposeB: true)
        var random = TestRandom(seed: 11)
        let a = try gpu.makeBuffer(count: shape.m * shape.k, dtype: .float32, label: "a")
        let b = try gpu.makeBuffer(count: shape.k * shape.n, dtype: .float32, label: "b")
        let c = try gpu.makeBuffer(count: shape.m * shape.n, dtype: .float32, label: "c")
        try gpu.write(random.floats(a.count), to: a)
        try gpu.write(random.floats(b.count), to: b)
        for design in MatmulKernelDesign.allCases {
            let previous = gpu.tuning.matmulDesign
            gpu.tuning.matmulDesign = design
            defer { gpu.tuning.matmulDesign = previous }
            try gpu.matmul(shape, a: a, b: b, c: c)
            let first = try gpu.readFloats(c)
            try gpu.matmul(shape, a: a, b: b, c: c)
            let second = try gpu.readFloats(c)
            XCTAssertEqual(first.map(\.bitPattern), second.map(\.bitPattern), "\(design) is not deterministic")
        }
    }

    /// Both devices reject an operand that is too small with the same error, naming the product
    /// (with the operands' shapes) and the buffer's size against the size needed.
    func testShapeMismatchNamesOperationAndShapes() throws {
        let shape = MatmulShape(m: 4, n: 5, k: 6, transposeB: true)
        for device in [try device() as Device, TestDevices.reference()] {
            let a = try device.makeBuffer(count: 4 * 6, dtype: .float32, label: "x")
            let b = try device.makeBuffer(count: 5 * 6 - 1, dtype: .float32, label: "w")
            let c = try device.makeBuffer(count: 4 * 5, dtype: .float32, label: "y")
            XCTAssertThrowsError(try device.matmul(shape, a: a, b: b, c: c)) { error in
                XCTAssertEqual(
                    error as? DeviceError,
                    .shapeMismatch(operation: "matmul [4×6]·[5×6]ᵀ ('w')", lhs: [29], rhs: [30]))
                XCTAssertEqual("\(error)", "matmul [4×6]·[5×6]ᵀ ('w'): shapes [29] and [30] do not match")
            }
            XCTAssertThrowsError(try device.matmul(MatmulShape(m: 0, n: 5, k: 6), a: a, b: b, c: c)) { error in
                XCTAssertEqual("\(error)", "matmul [0×6]·[6×5]: m must be positive, got 0")
            }
            let overlapping = MatmulShape(batch: 2, m: 2, n: 2, k: 2, strideC: 3)
            XCTAssertThrowsError(try device.matmul(overlapping, a: a, b: b, c: c)) { error in
                XCTAssertTrue("\(error)".contains("overlap"), "\(error)")
            }
        }
    }

    /// The packing scratch is made through the device (so it counts in `memoryInUse`), reused
    /// by products that fit in it, and replaced by a bigger one when needed.
    func testScratchIsCountedAndReused() throws {
        let gpu = try OpenCLDevice(selector: ProcessInfo.processInfo.environment["GPUTRAIN_DEVICE"])
        gpu.tuning.matmulDesign = .packed
        let shape = MatmulShape(m: 600, n: 8, k: 700)
        let a = try gpu.makeBuffer(count: shape.m * shape.k, dtype: .float32, label: "a")
        let b = try gpu.makeBuffer(count: shape.k * shape.n, dtype: .float32, label: "b")
        let c = try gpu.makeBuffer(count: shape.m * shape.n, dtype: .float32, label: "c")
        let operands = gpu.memoryInUse
        try gpu.matmul(shape, a: a, b: b, c: c)
        let scratch = gpu.memoryInUse - operands
        XCTAssertGreaterThanOrEqual(scratch, shape.m * shape.k * 4, "the scratch holds a packed copy of A")
        XCTAssertLessThan(scratch, (shape.m + 16) * shape.k * 4)
        try gpu.matmul(MatmulShape(m: 100, n: 8, k: 700), a: a, b: b, c: c)
        XCTAssertEqual(gpu.memoryInUse, operands + scratch, "a smaller product reuses the scratch")
        try gpu.matmul(
            MatmulShape(batch: 4, m: 200, n: 8, k: 700, strideA: 70_000, strideB: 0, strideC: 0), a: a, b: b, c: c)
        XCTAssertGreaterThan(gpu.memoryInUse, operands + scratch, "a bigger product gets a bigger scratch")
        XCTAssertLessThan(gpu.memoryInUse, operands + 2 * scratch, "the old scratch was given back")
    }

    /// The packed kernel's split keeps both cores busy, even when C has a single strip of columns.
    func testPackedPlanBalancesCores() {
        let tuning = MatmulTuning.forDevice(cpuVariant: true, nativeVectorWidth: 8)
        XCTAssertEqual(tuning.mr, 6)
        XCTAssertEqual(MatmulTuning.forDevice(cpuVariant: true, nativeVectorWidth: 16).nr, 32)
        let small = MatmulTuning.forDevice(cpuVariant: true, nativeVectorWidth: 8, localMemoryBytes: 32 * 1024)
        XCTAssertLessThanOrEqual(small.kc * small.strip * 4, 32 * 1024, "the B block fits in local memory")
        for (m, n, items) in [
            (512, 768, 1), (512, 2304, 1), (512, 16, 1), (1024, 1024, 1), (64, 64, 3),
            (2048, 8192, 1), (7, 23, 1), (1, 1, 1), (3072, 768, 5),
        ] {
            let plan = tuning.packedPlan(m: m, n: n, items: items, cores: 2)
            let workItems = plan.columnBlocks * plan.rowBlocks * items
            XCTAssertTrue(workItems % 2 == 0 || workItems >= 8 || m * n == 1, "\(m)×\(n)×\(items): \(plan)")
            XCTAssertGreaterThanOrEqual(plan.columnBlocks * plan.columnsPerItem, n)
            XCTAssertLessThan((plan.columnBlocks - 1) * plan.columnsPerItem, n, "no empty column block")
            XCTAssertGreaterThanOrEqual(plan.rowBlocks * plan.panelsPerItem * tuning.mr, m)
            XCTAssertLessThanOrEqual(plan.strip, tuning.strip)
            XCTAssertEqual(plan.strip % tuning.nr, 0)
            XCTAssertEqual(plan.columnsPerItem % tuning.nr, 0)
        }
    }
}
