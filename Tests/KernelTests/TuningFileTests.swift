import Core
import Foundation
import TestSupport
import XCTest

@testable import OpenCLDevice

/// A tuning file (`gputrain tune`'s output, or a hand-written override) replaces the built-in
/// sizes of the variant it was tuned for, and so the defines the kernels are compiled with.
final class TuningFileTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = try makeScratchFolder("tuning-file")
    }

    override func tearDown() {
        unsetenv(TuningFile.environmentVariable)
    }

    /// Opens a fresh device of the shared one's kind with `GPUTRAIN_TUNING` naming `file`.
    private func device(reading file: URL) throws -> OpenCLDevice {
        setenv(TuningFile.environmentVariable, file.path, 1)
        defer { unsetenv(TuningFile.environmentVariable) }
        return try OpenCLDevice(selector: "\(try TestDevices.openCL.get().info.index)", kernels: .cpu)
    }

    func testATuningFileChangesTheCompiledDefines() throws {
        let shared = try TestDevices.openCL.get()
        var matmul = DeviceTuning.forDevice(shared.info, kernels: .cpu).matmul
        // Half the built-in k-slice: another define, still within the device's local memory.
        matmul.kc /= 2
        let file = folder.appendingPathComponent("tuning.json")
        try TuningFile(device: shared.name, driver: "any", kernels: "cpu", matmul: matmul, attention: nil).write(
            to: file)

        let device = try device(reading: file)
        XCTAssertEqual(device.tuningFile, file)
        XCTAssertEqual(device.tuning.matmul.kc, matmul.kc)
        let a = try device.makeBuffer(count: 12, dtype: .float32, label: "a")
        let c = try device.makeBuffer(count: 9, dtype: .float32, label: "c")
        try device.write([Float](repeating: 1, count: 12), to: a)
        try device.matmul(MatmulShape(m: 3, n: 3, k: 4, transposeB: true), a: a, b: a, c: c)
        XCTAssertEqual(try device.readFloats(c), [Float](repeating: 4, count: 9))
        let compiled = device.programs.compiled.filter { $0.hasPrefix("matmul|") }
        XCTAssertFalse(compiled.isEmpty)
        XCTAssertTrue(compiled.allSatisfy { $0.contains("-D KC=\(matmul.kc) ") }, "\(compiled)")

        // Sizes tuned for the other variant leave this one's alone.
        try TuningFile(device: shared.name, driver: "any", kernels: "gpu", matmul: matmul, attention: nil).write(
            to: file)
        XCTAssertNil(try self.device(reading: file).tuningFile)
    }

    func testABadTuningFileNamesTheFileAndTheWayOut() throws {
        let shared = try TestDevices.openCL.get()
        var matmul = DeviceTuning.forDevice(shared.info, kernels: .cpu).matmul
        matmul.strip = matmul.nr + 1
        let file = folder.appendingPathComponent("bad.json")
        try TuningFile(device: shared.name, driver: "any", kernels: "cpu", matmul: matmul, attention: nil).write(
            to: file)
        XCTAssertThrowsError(try device(reading: file)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(file.path) && message.contains("must be a multiple of nr"), message)
            XCTAssertTrue(message.contains("GPUTRAIN_TUNING=off"), message)
        }
        try "{not json".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try device(reading: file)) {
            XCTAssertTrue("\($0)".contains("not a gputrain tuning file"))
        }
    }

    func testTheDefaultFileIsNamedAfterVendorDeviceAndDriver() throws {
        let info = try TestDevices.openCL.get().info
        let url = try XCTUnwrap(TuningFile.url(for: info, environment: ["XDG_CONFIG_HOME": "/cfg"]))
        XCTAssertTrue(url.path.hasPrefix("/cfg/gputrain/tuning/"), url.path)
        XCTAssertFalse(url.lastPathComponent.dropLast(5).contains(" "), url.path)
        XCTAssertNil(TuningFile.url(for: info, environment: ["GPUTRAIN_TUNING": "off"]))
    }
}
