import Core
import Foundation
import TestSupport
import XCTest

@testable import OpenCLDevice

/// The one tuning table: what each kind of device gets, decided only by what it reports and the
/// kernel variant asked for, and that an open device holds its entry.
final class DeviceTuningTests: XCTestCase {
    /// A device reporting `type`, `vectorWidth` floats per native vector, `localMemory` bytes of
    /// local memory and work-groups of at most `maxGroup`.
    private func info(
        _ type: String, name: String = "some device", vectorWidth: Int = 8, localMemory: Int = 512 * 1024,
        maxGroup: Int = 4096
    ) -> OpenCLDeviceInfo {
        OpenCLDeviceInfo(
            index: 0, platform: "p", name: name, type: type, vendor: "v", computeUnits: 2,
            globalMemoryBytes: 1 << 30, openCLCVersion: "OpenCL C 1.2", driverVersion: "1",
            localMemoryBytes: localMemory, maxWorkGroupSize: maxGroup, nativeFloatVectorWidth: vectorWidth)
    }

    func testOpenDeviceHoldsItsTableEntry() throws {
        let device = try TestDevices.openCL.get()
        let variant = try KernelVariant.fromEnvironment(ProcessInfo.processInfo.environment)
        XCTAssertEqual(device.tuning, DeviceTuning.forDevice(device.info, kernels: variant))
    }

    func testCPUsAndGPUsGetTheirConfigurations() {
        let cpu = DeviceTuning.forDevice(info("cpu"))
        XCTAssertEqual(cpu.matmulDesign, .packed)
        XCTAssertEqual(cpu.matmul.nr, 16, "8-wide vectors: the 6×16 micro-kernel")
        XCTAssertEqual(cpu.rowKernels, .cpu)
        XCTAssertEqual(cpu.elementwise, .cpu)
        XCTAssertEqual(cpu.attention(headDim: 64), .cpu, "rows of whole vectors are read in place")
        XCTAssertTrue(cpu.attention(headDim: 60).localTiles, "other head dims are copied to local memory")

        let gpu = DeviceTuning.forDevice(info("gpu", localMemory: 48 * 1024, maxGroup: 1024))
        XCTAssertEqual(gpu.matmulDesign, .tiled)
        XCTAssertEqual(gpu.rowKernels, .gpu)
        XCTAssertEqual(gpu.elementwise, .gpu)
        XCTAssertEqual(gpu.attention(headDim: 64), .gpu)
        // Two tiles of 32 rows of 256 floats (64 KiB) do not fit in 48 KiB; 16 rows do.
        XCTAssertEqual(gpu.attention(headDim: 256).keyTile, 16)
        XCTAssertEqual(gpu.attention(headDim: 256).queryTile, 16)
    }

    /// `--kernels` picks either variant on either kind of device; `auto` follows the type.
    func testTheVariantOverridesTheDeviceType() {
        let onCPU = DeviceTuning.forDevice(info("cpu"), kernels: .gpu)
        XCTAssertEqual(onCPU.matmulDesign, .tiled)
        XCTAssertEqual(onCPU.rowKernels, .gpu)
        XCTAssertEqual(onCPU.elementwise, .gpu)
        XCTAssertEqual(onCPU.attention(headDim: 64), .gpu)
        let onGPU = DeviceTuning.forDevice(info("gpu"), kernels: .cpu)
        XCTAssertEqual(onGPU.matmulDesign, .packed)
        XCTAssertEqual(onGPU.rowKernels, .cpu)
        XCTAssertEqual(DeviceTuning.forDevice(info("other")), DeviceTuning.forDevice(info("gpu")))
    }

    /// Two devices that report the same properties get the same tuning, whatever their names;
    /// 16-wide native vectors (AVX-512) get the 8×32 micro-kernel.
    func testOnlyReportedPropertiesDecide() {
        XCTAssertEqual(
            DeviceTuning.forDevice(info("cpu", name: "pthread-skylake-avx512")),
            DeviceTuning.forDevice(info("cpu", name: "Intel(R) Xeon")))
        let wide = DeviceTuning.forDevice(info("cpu", vectorWidth: 16)).matmul
        XCTAssertEqual([wide.mr, wide.nr, wide.vectorWidth], [8, 32, 16])
    }

    /// Every work-group and local tile fits what the device reports.
    func testGroupsAndTilesFitTheDevice() {
        for variant in [KernelVariant.cpu, .gpu] {
            let tuning = DeviceTuning.forDevice(info("cpu", localMemory: 32 * 1024, maxGroup: 64), kernels: variant)
            let rows = tuning.rowKernels
            let groups = [
                rows.softmax.rowGroup, rows.softmax.elementGroup, rows.normalization.rowGroup,
                rows.normalization.parameterColumns * rows.normalization.parameterLanes, rows.adamW.group,
                tuning.elementwise.localSize, tuning.attention.queryGroup, tuning.attention.keyGroup,
                tuning.matmul.tiledLocal[0] * tuning.matmul.tiledLocal[1],
            ]
            XCTAssertTrue(groups.allSatisfy { $0 <= 64 }, "\(variant): \(groups)")
            XCTAssertLessThanOrEqual(tuning.matmul.kc * tuning.matmul.strip * 4, 32 * 1024, "\(variant)")
        }
    }

    func testAnUnknownVariantNamesItsSourceAndTheChoices() {
        XCTAssertEqual(try KernelVariant.parse("GPU", source: "--kernels"), .gpu)
        XCTAssertEqual(try KernelVariant.fromEnvironment([:]), .auto)
        XCTAssertThrowsError(try KernelVariant.fromEnvironment(["GPUTRAIN_KERNELS": "fast"])) { error in
            XCTAssertTrue("\(error)".contains("GPUTRAIN_KERNELS"), "\(error)")
            XCTAssertTrue("\(error)".contains("'fast'"), "\(error)")
            XCTAssertTrue("\(error)".contains("auto, cpu or gpu"), "\(error)")
        }
    }
}
