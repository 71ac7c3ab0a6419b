import Core

/// An int32 array on a device: token ids, targets (−100 = ignored), positions, attention masks
/// and segment ids. It takes no part in differentiation.
///
/// A tensor made from host values keeps them, so host-side questions such as "how many
/// targets are not ignored" (the denominator of a mean cross-entropy) need no device read.
public final class IntTensor {
    /// Where the tensor lives.
    public let device: Device
    /// Dimensions, outermost first.
    public let shape: [Int]
    /// The elements, row-major and contiguous.
    public let buffer: DeviceBuffer
    /// The values uploaded at creation, when known.
    let hostValues: [Int32]?

    /// A new tensor holding `values` (exactly `shape`'s element count).
    public init(device: Device, shape: [Int], values: [Int32], label: String = "ints") throws {
        try Tensor.requireValid(shape, in: "IntTensor('\(label)')")
        let count = shape.reduce(1, *)
        guard values.count == count else {
            throw DeviceError.shapeMismatch(
                operation: "IntTensor('\(label)') values for shape \(shape)", lhs: [values.count], rhs: [count])
        }
        buffer = try device.makeBuffer(count: count, dtype: .int32, label: label)
        try device.write(values, to: buffer)
        self.device = device
        self.shape = shape
        hostValues = values
    }

    /// Wraps an int32 `buffer` holding at least `shape`'s element count.
    public init(device: Device, shape: [Int], buffer: DeviceBuffer) throws {
        try Tensor.requireValid(shape, in: "IntTensor('\(buffer.label)')")
        try BufferChecks.require(buffer, holds: shape.reduce(1, *), of: .int32, in: "IntTensor('\(buffer.label)')")
        self.device = device
        self.shape = shape
        self.buffer = buffer
        hostValues = nil
    }

    private init(device: Device, shape: [Int], buffer: DeviceBuffer, hostValues: [Int32]?) {
        self.device = device
        self.shape = shape
        self.buffer = buffer
        self.hostValues = hostValues
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// The elements (from the host copy when there is one, else read from the device).
    public func values() throws -> [Int32] {
        if let hostValues { return hostValues }
        let all = try device.readInts(buffer)
        return all.count == count ? all : Array(all.prefix(count))
    }

    /// The same elements with another shape of equal element count (no copy).
    public func reshaped(_ newShape: [Int]) throws -> IntTensor {
        try Tensor.requireValid(newShape, in: "reshape of '\(buffer.label)'")
        guard newShape.reduce(1, *) == count else {
            throw DeviceError.shapeMismatch(operation: "reshape of '\(buffer.label)'", lhs: shape, rhs: newShape)
        }
        return IntTensor(device: device, shape: newShape, buffer: buffer, hostValues: hostValues)
    }
}

extension AttentionMasks {
    /// Masks from int32 tensors (see `AttentionMasks` for their shapes and meaning). A factory
    /// rather than an initializer, so that `AttentionMasks()` stays unambiguous.
    public static func tensors(
        keyValid: IntTensor? = nil, querySegments: IntTensor? = nil, keySegments: IntTensor? = nil
    ) -> AttentionMasks {
        AttentionMasks(
            keyValid: keyValid?.buffer, querySegments: querySegments?.buffer, keySegments: keySegments?.buffer)
    }
}
