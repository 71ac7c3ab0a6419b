import Core
import TestSupport
import XCTest

@testable import OpenCLDevice

/// The OpenCL runtime's errors: each names the call, the OpenCL status and what was being done.
final class OpenCLRuntimeTests: XCTestCase {
    func testKernelBuildFailurePrintsTheBuildLog() throws {
        let device = try TestDevices.openCL.get()
        let broken = "__kernel void broken(__global float* x) { x[0] = undeclared_name; }"
        XCTAssertThrowsError(try device.programs.program(family: "broken", options: "-cl-std=CL1.2", source: broken)) {
            error in
            guard case DeviceError.kernelBuildFailed(let file, _, let log) = error else {
                return XCTFail("expected kernelBuildFailed, got \(error)")
            }
            XCTAssertEqual(file, "broken.cl")
            XCTAssertTrue(log.contains("undeclared_name"), "the log names the culprit: \(log)")
            XCTAssertTrue("\(error)".contains("failed to build"))
        }
    }

    func testOpenCLErrorNamesCallStatusAndOperation() throws {
        let device = try TestDevices.openCL.get()
        XCTAssertThrowsError(
            try device.launch("elementwise", "no_such_kernel", global: [1], arguments: [], operation: "test op")
        ) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("clCreateKernel"), text)
            XCTAssertTrue(text.contains("CL_INVALID_KERNEL_NAME"), text)
            XCTAssertTrue(text.contains("elementwise.cl"), text)
        }
    }

    func testRunningOutOfMemoryNamesTheTensorAndItsSize() throws {
        let device = try TestDevices.openCL.get()
        let count = device.info.globalMemoryBytes / 4 + 1
        XCTAssertThrowsError(try device.makeBuffer(count: count, dtype: .float32, label: "huge.weight")) { error in
            guard case DeviceError.outOfMemory(let label, let bytes, _) = error else {
                return XCTFail("expected outOfMemory, got \(error)")
            }
            XCTAssertEqual(label, "huge.weight")
            XCTAssertEqual(bytes, count * 4)
            XCTAssertTrue("\(error)".contains("huge.weight"))
        }
    }

    func testBuffersRoundTripAndViewsShareMemory() throws {
        let device = try TestDevices.openCL.get()
        let before = device.memoryInUse
        do {
            let alignment = device.viewAlignment
            let flat = try device.makeBuffer(count: 3 * alignment, dtype: .float32, label: "flat")
            XCTAssertEqual(device.memoryInUse, before + 3 * alignment * 4)
            XCTAssertEqual(
                try device.readFloats(flat), [Float](repeating: 0, count: 3 * alignment), "new buffers are zero")
            let view = try device.makeView(of: flat, offset: alignment, count: alignment, label: "middle")
            let values = (0..<alignment).map { Float($0) + 0.5 }
            try device.write(values, to: view)
            let all = try device.readFloats(flat)
            XCTAssertEqual(Array(all[alignment..<(2 * alignment)]), values)
            XCTAssertEqual(Array(all[0..<alignment]), [Float](repeating: 0, count: alignment))
            let nested = try device.makeView(of: view, offset: 0, count: 1, label: "first of middle")
            XCTAssertEqual(try device.readFloats(nested), [0.5])
            XCTAssertThrowsError(try device.makeView(of: flat, offset: 1, count: 1, label: "misaligned")) { error in
                XCTAssertTrue("\(error)".contains("misaligned") || alignment == 1)
            }
            let ints = try device.makeBuffer(count: 3, dtype: .int32, label: "ids")
            try device.write([1, -2, 3] as [Int32], to: ints)
            XCTAssertEqual(try device.readInts(ints), [1, -2, 3])
            XCTAssertThrowsError(try device.readFloats(ints)) { error in
                XCTAssertTrue("\(error)".contains("int32"), "\(error)")
            }
        }
        XCTAssertEqual(device.memoryInUse, before, "freed buffers return their bytes")
    }
}
