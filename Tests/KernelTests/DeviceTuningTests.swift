import TestSupport
import XCTest

@testable import OpenCLDevice

/// The one tuning table: what each kind of device gets, and that an open device holds its entry.
final class DeviceTuningTests: XCTestCase {
    func testOpenDeviceHoldsItsTableEntry() throws {
        let device = try TestDevices.openCL.get()
        XCTAssertEqual(
            device.tuning,
            DeviceTuning.forDevice(
                type: device.info.type, name: device.info.name, localMemoryBytes: device.tuning.localMemoryBytes))
    }

    func testCPUsAndGPUsGetTheirConfigurations() {
        let cpu = DeviceTuning.forDevice(type: "cpu", name: "pthread-haswell", localMemoryBytes: 512 * 1024)
        XCTAssertEqual(cpu.matmulDesign, .packed)
        XCTAssertEqual(cpu.matmul, MatmulTuning.forDevice(type: "cpu", name: "pthread-haswell"))
        XCTAssertEqual(cpu.rowKernels, .cpu)
        XCTAssertEqual(cpu.elementwise, .cpu)
        XCTAssertEqual(cpu.attention(headDim: 64), .cpu, "rows of whole vectors are read in place")
        XCTAssertTrue(cpu.attention(headDim: 60).localTiles, "other head dims are copied to local memory")

        let gpu = DeviceTuning.forDevice(type: "gpu", name: "NVIDIA H100", localMemoryBytes: 48 * 1024)
        XCTAssertEqual(gpu.matmulDesign, .tiled)
        XCTAssertEqual(gpu.rowKernels, .gpu)
        XCTAssertEqual(gpu.elementwise, .gpu)
        XCTAssertEqual(gpu.attention(headDim: 64), .gpu)
        // Two tiles of 32 rows of 256 floats (64 KiB) do not fit in 48 KiB; 16 rows do.
        XCTAssertEqual(gpu.attention(headDim: 256).keyTile, 16)
        XCTAssertEqual(gpu.attention(headDim: 256).queryTile, 16)
    }
}
