import Core
import Foundation

/// Memory of the reference device: a Swift array, shared by the views made of it.
final class ReferenceStorage {
    var floats: [Float]
    var ints: [Int32]
    init(count: Int, dtype: DType) {
        floats = dtype == .float32 ? [Float](repeating: 0, count: count) : []
        ints = dtype == .int32 ? [Int32](repeating: 0, count: count) : []
    }
}

/// A buffer of the reference device: a window [offset, offset + count) of a storage.
public class ReferenceBuffer: DeviceBuffer {
    let storage: ReferenceStorage
    let offset: Int
    public let count: Int
    public let dtype: DType
    public let label: String

    init(storage: ReferenceStorage, offset: Int, count: Int, dtype: DType, label: String) {
        self.storage = storage
        self.offset = offset
        self.count = count
        self.dtype = dtype
        self.label = label
    }
}

/// Every operation of `Device` in plain Swift: simple, slow and obviously correct. It is the
/// executable specification of the kernels and the oracle of the tests (`--device reference`).
///
/// The operations live in one file per kernel family (`Reference+Matmul.swift`, …), each
/// next to the `.cl` file it specifies.
public final class ReferenceDevice: Device {
    public let name = "reference"
    public let viewAlignment = 1
    public private(set) var memoryInUse = 0
    public private(set) var peakMemoryInUse = 0
    /// Buffers are host arrays, so the host's memory bounds them.
    public var memoryCapacity: Int? { Int(clamping: ProcessInfo.processInfo.physicalMemory) }

    public init() {}

    public func makeBuffer(count: Int, dtype: DType, label: String) throws -> DeviceBuffer {
        guard count >= 0 else {
            throw DeviceError.invalidArgument(operation: "makeBuffer('\(label)')", message: "negative count \(count)")
        }
        memoryInUse += count * dtype.size
        peakMemoryInUse = max(peakMemoryInUse, memoryInUse)
        return TrackedReferenceBuffer(
            storage: ReferenceStorage(count: count, dtype: dtype), count: count, dtype: dtype, label: label,
            onRelease: { [weak self] in self?.memoryInUse -= count * dtype.size })
    }

    public func makeView(of buffer: DeviceBuffer, offset: Int, count: Int, label: String) throws -> DeviceBuffer {
        let base = try own(buffer, "makeView")
        guard offset >= 0, count >= 0, offset + count <= base.count else {
            throw DeviceError.invalidArgument(
                operation: "makeView('\(label)')",
                message: "range \(offset)..<\(offset + count) outside '\(base.label)' of \(base.count) elements")
        }
        return ReferenceBuffer(
            storage: base.storage, offset: base.offset + offset, count: count, dtype: base.dtype, label: label)
    }

    public func write(_ values: [Float], to buffer: DeviceBuffer) throws {
        let b = try own(buffer, "write")
        try BufferChecks.require(b, holds: values.count, of: .float32, in: "write")
        b.storage.floats.replaceSubrange(b.offset..<(b.offset + values.count), with: values)
    }

    public func write(_ values: [Int32], to buffer: DeviceBuffer) throws {
        let b = try own(buffer, "write")
        try BufferChecks.require(b, holds: values.count, of: .int32, in: "write")
        b.storage.ints.replaceSubrange(b.offset..<(b.offset + values.count), with: values)
    }

    public func readFloats(_ buffer: DeviceBuffer) throws -> [Float] {
        let b = try own(buffer, "readFloats")
        try BufferChecks.require(b, holds: 0, of: .float32, in: "readFloats")
        return Array(b.storage.floats[b.offset..<(b.offset + b.count)])
    }

    public func readInts(_ buffer: DeviceBuffer) throws -> [Int32] {
        let b = try own(buffer, "readInts")
        try BufferChecks.require(b, holds: 0, of: .int32, in: "readInts")
        return Array(b.storage.ints[b.offset..<(b.offset + b.count)])
    }

    public func synchronize() throws {}

    /// The buffer as this device's own, or `foreignBuffer`.
    func own(_ buffer: DeviceBuffer, _ operation: String) throws -> ReferenceBuffer {
        guard let b = buffer as? ReferenceBuffer else {
            throw DeviceError.foreignBuffer(operation: operation, label: buffer.label)
        }
        return b
    }

    /// Reads `count` floats of `buffer` after checking it holds them.
    func floats(_ buffer: DeviceBuffer, _ count: Int, _ operation: String) throws -> [Float] {
        let b = try own(buffer, operation)
        try BufferChecks.require(b, holds: count, of: .float32, in: operation)
        return Array(b.storage.floats[b.offset..<(b.offset + count)])
    }

    /// Reads `count` ints of `buffer` after checking it holds them.
    func ints(_ buffer: DeviceBuffer, _ count: Int, _ operation: String) throws -> [Int32] {
        let b = try own(buffer, operation)
        try BufferChecks.require(b, holds: count, of: .int32, in: operation)
        return Array(b.storage.ints[b.offset..<(b.offset + count)])
    }

    /// Writes `values` to the start of `buffer` after checking it holds them.
    func store(_ values: [Float], _ buffer: DeviceBuffer, _ operation: String) throws {
        let b = try own(buffer, operation)
        try BufferChecks.require(b, holds: values.count, of: .float32, in: operation)
        b.storage.floats.replaceSubrange(b.offset..<(b.offset + values.count), with: values)
    }
}

/// A top-level reference buffer that returns its bytes to the device's count when freed.
final class TrackedReferenceBuffer: ReferenceBuffer {
    private let onRelease: () -> Void
    init(storage: ReferenceStorage, count: Int, dtype: DType, label: String, onRelease: @escaping () -> Void) {
        self.onRelease = onRelease
        super.init(storage: storage, offset: 0, count: count, dtype: dtype, label: label)
    }
    deinit { onRelease() }
}
