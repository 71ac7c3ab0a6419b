import Core
import Foundation
import OpenCLDevice
import ReferenceDevice

/// The devices the tests compare: one shared OpenCL device (PoCL here) and fresh reference devices.
public enum TestDevices {
    /// The OpenCL device named by GPUTRAIN_DEVICE, else the default; opened once per test process
    /// so kernels compile once. Tests fail (not skip) when it cannot be opened: PoCL runs here.
    public static let openCL: Result<OpenCLDevice, Error> = Result {
        try OpenCLDevice(selector: ProcessInfo.processInfo.environment["GPUTRAIN_DEVICE"])
    }

    /// A fresh reference device.
    public static func reference() -> ReferenceDevice { ReferenceDevice() }
}

/// Seeded random inputs for tests.
public struct TestRandom {
    private var generator: SeededGenerator

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// `count` values uniform in [lo, hi).
    public mutating func floats(_ count: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<count).map { _ in range.lowerBound + (range.upperBound - range.lowerBound) * generator.nextUniform() }
    }

    /// `count` integers uniform in [0, bound).
    public mutating func ints(_ count: Int, below bound: Int) -> [Int32] {
        (0..<count).map { _ in Int32(generator.next() % UInt64(bound)) }
    }
}
