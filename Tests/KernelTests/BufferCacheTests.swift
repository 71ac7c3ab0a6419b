import Core
import OpenCLDevice
import TestSupport
import XCTest

/// The OpenCL device's cache of freed allocations: reused for the same size, zeroed again,
/// outside `memoryInUse`, and bounded.
final class BufferCacheTests: XCTestCase {
    func testFreedBufferIsReusedZeroedAndNotCountedInUse() throws {
        let device = try OpenCLDevice()
        let count = 1000
        do {
            let buffer = try device.makeBuffer(count: count, dtype: .float32, label: "first")
            try device.write((0..<count).map(Float.init), to: buffer)
            XCTAssertEqual(device.memoryInUse, count * 4)
        }
        XCTAssertEqual(device.memoryInUse, 0)
        XCTAssertEqual(device.cachedBytes, count * 4, "freed, kept for reuse")
        let other = try device.makeBuffer(count: 999, dtype: .float32, label: "other size")
        XCTAssertEqual(device.cachedBytes, count * 4, "a different size allocates afresh")
        let reused = try device.makeBuffer(count: count, dtype: .float32, label: "second")
        XCTAssertEqual(device.cachedBytes, 0)
        XCTAssertEqual(device.memoryInUse, (count + 999) * 4)
        XCTAssertEqual(
            try device.readFloats(reused), [Float](repeating: 0, count: count), "a reused buffer starts at zero")
        XCTAssertEqual(try device.readFloats(other).count, 999)
    }

    func testCacheHoldsAtMostThePeakInUse() throws {
        let device = try OpenCLDevice()
        do {
            let buffers = try (1...4).map { try device.makeBuffer(count: 100 * $0, dtype: .float32, label: "b\($0)") }
            XCTAssertEqual(device.peakMemoryInUse, 4000)
            _ = buffers
        }
        XCTAssertEqual(device.cachedBytes, 4000, "everything freed fits under the peak")
        do {
            // Sizes that were never freed before: each new one pushes the oldest cached ones out.
            _ = try device.makeBuffer(count: 1000, dtype: .float32, label: "big")
        }
        XCTAssertLessThanOrEqual(device.cachedBytes, device.peakMemoryInUse)
        let again = try device.makeBuffer(count: 1000, dtype: .float32, label: "big again")
        XCTAssertEqual(try device.readFloats(again).count, 1000)
    }
}
