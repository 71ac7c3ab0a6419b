import Foundation
import TestSupport
import XCTest

/// `gputrain devices` as a user runs it.
final class DevicesCommandTests: XCTestCase {
    func testJSONListsEveryDeviceWithTheAgreedKeys() throws {
        let result = try CommandRunner.run(["devices", "--json"])
        XCTAssertEqual(result.status, 0, result.standardError)
        let parsed = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
        let devices = try XCTUnwrap(parsed as? [[String: Any]])
        XCTAssertFalse(devices.isEmpty, "PoCL provides at least one device")
        let keys: Set = [
            "index", "platform", "name", "type", "vendor", "compute_units", "global_mem_bytes",
            "opencl_c_version", "default",
        ]
        for (position, device) in devices.enumerated() {
            XCTAssertEqual(Set(device.keys), keys)
            XCTAssertEqual(device["index"] as? Int, position)
            XCTAssertTrue(["gpu", "cpu", "other"].contains(device["type"] as? String ?? ""))
            XCTAssertGreaterThan(device["compute_units"] as? Int ?? 0, 0)
            XCTAssertGreaterThan(device["global_mem_bytes"] as? Int ?? 0, 0)
        }
        XCTAssertEqual(devices.filter { $0["default"] as? Bool == true }.count, 1, "exactly one default")
    }

    func testTextMarksTheDefault() throws {
        let result = try CommandRunner.run(["devices"])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.split(separator: "\n").contains { $0.hasPrefix("* ") })
    }

    func testNoPlatformTellsHowToInstallPoCL() throws {
        // An empty vendor directory hides every installed OpenCL driver from the ICD loader.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-icd-\(getpid())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let result = try CommandRunner.run(["devices"], environment: ["OCL_ICD_VENDORS": empty.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("pocl-opencl-icd"), result.standardError)
        XCTAssertTrue(result.standardError.contains("--device reference"), result.standardError)
    }
}
