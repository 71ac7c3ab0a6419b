import Core

/// Reshaping (free: tensors are contiguous), and slicing / concatenating along an axis.
///
/// Seen around axis a, a contiguous tensor is a matrix [outer, size(a)·inner] with
/// outer = Π shape[..<a] and inner = Π shape[(a+1)...]; a slice or a piece of a concatenation
/// is a block of columns of it, so each is one `Device.copy2D`. The backward pass copies the
/// gradient blocks back, adding where slices overlap (copy2D's accumulate).
extension Tensor {
    /// The same elements with another shape of equal element count; one dimension may be −1
    /// (inferred). Shares the buffer: no copy, no kernel.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.reduce(1) { $0 * $1.element }
            guard known > 0, count % known == 0 else {
                throw DeviceError.shapeMismatch(operation: "reshape of '\(label)'", lhs: shape, rhs: newShape)
            }
            resolved[inferred] = count / known
        }
        if resolved == shape { return self }
        try Tensor.requireValid(resolved, in: "reshape of '\(label)'")
        guard resolved.reduce(1, *) == count else {
            throw DeviceError.shapeMismatch(operation: "reshape of '\(label)'", lhs: shape, rhs: newShape)
        }
        let out = Tensor(unchecked: device, shape: resolved, buffer: buffer)
        // BackwardPass.add and leaf accumulation reshape gradients to their target, so the
        // gradient passes through untouched.
        return out.recorded("reshape", inputs: [self]) { dy, sink in try sink.add(dy, to: 0) }
    }

    /// Elements `range` along `axis` (negative counts from the end), e.g. q, k or v out of a
    /// fused projection (last axis) or the last position of each sequence (axis 1).
    public func slice(axis: Int, _ range: Range<Int>) throws -> Tensor {
        let axis = try normalized(axis, "slice")
        guard range.lowerBound >= 0, range.upperBound <= shape[axis], !range.isEmpty else {
            throw DeviceError.invalidArgument(
                operation: "slice", message: "range \(range) outside axis \(axis) of '\(label)' with shape \(shape)")
        }
        if range.count == shape[axis] { return self }
        let block = blockView(axis)
        let width = range.count * block.inner
        let start = range.lowerBound * block.inner
        let columns = block.columns
        var outShape = shape
        outShape[axis] = range.count
        let out = try Tensor.output(device, outShape, "slice")
        try device.copy2D(
            from: buffer, sourceOffset: start, sourceRowStride: columns,
            to: out.buffer, destinationOffset: 0, destinationRowStride: width,
            rows: block.outer, columns: width, accumulate: false)
        return out.recorded("slice", inputs: [self]) { dy, sink in
            try sink.add(
                to: 0,
                accumulating: { dx, accumulate in
                    try dy.device.copy2D(
                        from: dy.buffer, sourceOffset: 0, sourceRowStride: width,
                        to: dx, destinationOffset: start, destinationRowStride: columns,
                        rows: block.outer, columns: width, accumulate: accumulate)
                })
        }
    }

    /// Elements `range` of the last axis.
    public func slice(lastAxis range: Range<Int>) throws -> Tensor {
        try slice(axis: -1, range)
    }

    /// Consecutive pieces along `axis` with the given sizes (which must add up to its size).
    public func split(axis: Int = -1, sizes: [Int]) throws -> [Tensor] {
        let resolved = try normalized(axis, "split")
        guard sizes.reduce(0, +) == shape[resolved] else {
            throw DeviceError.shapeMismatch(
                operation: "split of '\(label)' along axis \(resolved)", lhs: shape, rhs: sizes)
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try slice(axis: resolved, start..<(start + size))
        }
    }

    /// The tensors joined along `axis` (negative counts from the end); all other dimensions
    /// must agree.
    public static func concatenate(_ tensors: [Tensor], axis: Int = -1) throws -> Tensor {
        guard let first = tensors.first else {
            throw DeviceError.invalidArgument(operation: "concatenate", message: "no tensors")
        }
        if tensors.count == 1 { return first }
        try first.requireSameDevice(tensors, "concatenate")
        let axis = try first.normalized(axis, "concatenate")
        for tensor in tensors {
            var expected = first.shape
            expected[axis] = tensor.rank == first.rank ? tensor.shape[axis] : 0
            guard tensor.shape == expected else {
                throw DeviceError.shapeMismatch(
                    operation: "concatenate along axis \(axis)", lhs: first.shape, rhs: tensor.shape)
            }
        }
        let inner = first.blockView(axis).inner
        let outer = first.blockView(axis).outer
        let widths = tensors.map { $0.shape[axis] * inner }
        let total = widths.reduce(0, +)
        let offsets = widths.indices.map { widths[..<$0].reduce(0, +) }
        var outShape = first.shape
        outShape[axis] = total / inner
        let device = first.device
        let out = try Tensor.output(device, outShape, "concatenate")
        for (index, tensor) in tensors.enumerated() {
            try device.copy2D(
                from: tensor.buffer, sourceOffset: 0, sourceRowStride: widths[index],
                to: out.buffer, destinationOffset: offsets[index], destinationRowStride: total,
                rows: outer, columns: widths[index], accumulate: false)
        }
        // The closure captures widths and offsets only, not the inputs: their buffers may go.
        return out.recorded("concatenate", inputs: tensors) { dy, sink in
            for index in widths.indices where sink.needsGradient(index) {
                try sink.add(
                    to: index,
                    accumulating: { dx, accumulate in
                        try device.copy2D(
                            from: dy.buffer, sourceOffset: offsets[index], sourceRowStride: total,
                            to: dx, destinationOffset: 0, destinationRowStride: widths[index],
                            rows: outer, columns: widths[index], accumulate: accumulate)
                    })
            }
        }
    }

    /// The tensors side by side along the last axis.
    public static func concatenate(lastAxis tensors: [Tensor]) throws -> Tensor {
        try concatenate(tensors, axis: -1)
    }

    /// Overwrites, in place, the elements at `offset ..< offset + source.shape[axis]` along
    /// `axis` with `source` (same shape elsewhere): how a key/value cache takes the new
    /// positions. Not recorded and not differentiable: use it on constants (a cache under
    /// `withNoGrad`), never on a tensor a pending backward pass has saved.
    public func write(_ source: Tensor, axis: Int, at offset: Int) throws {
        try requireSameDevice([source], "write(_:axis:at:)")
        let axis = try normalized(axis, "write(_:axis:at:)")
        var expected = shape
        expected[axis] = source.rank == rank ? source.shape[axis] : 0
        guard source.shape == expected, offset >= 0, offset + source.shape[axis] <= shape[axis] else {
            throw DeviceError.shapeMismatch(
                operation: "write at \(offset) along axis \(axis) of '\(label)'", lhs: shape, rhs: source.shape)
        }
        guard !requiresGrad else {
            throw DeviceError.invalidArgument(
                operation: "write(_:axis:at:)",
                message: "'\(label)' requires a gradient; in-place writes are for constants")
        }
        let block = blockView(axis)
        let width = source.shape[axis] * block.inner
        try device.copy2D(
            from: source.buffer, sourceOffset: 0, sourceRowStride: width,
            to: buffer, destinationOffset: offset * block.inner, destinationRowStride: block.columns,
            rows: block.outer, columns: width, accumulate: false)
    }

    /// The tensor as the matrix [outer, columns = shape[axis]·inner] around `axis`.
    private func blockView(_ axis: Int) -> (outer: Int, inner: Int, columns: Int) {
        let inner = shape[(axis + 1)...].reduce(1, *)
        return (shape[..<axis].reduce(1, *), inner, shape[axis] * inner)
    }
}
