import Core

/// Reshaping (free: tensors are contiguous) and slicing / concatenating along the last axis
/// (`Device.copy2D`; the backward pass copies gradient blocks back, adding where they meet).
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

    /// Columns `range` of the last axis (e.g. q, k or v out of a fused projection).
    public func slice(lastAxis range: Range<Int>) throws -> Tensor {
        let (rows, columns) = rowsAndColumns
        guard range.lowerBound >= 0, range.upperBound <= columns, !range.isEmpty else {
            throw DeviceError.invalidArgument(
                operation: "slice(lastAxis:)", message: "range \(range) outside the last axis of '\(label)' with shape \(shape)")
        }
        if range.count == columns { return self }
        let width = range.count, start = range.lowerBound
        let out = try Tensor.output(device, shapeWithLast(width), "slice")
        try device.copy2D(
            from: buffer, sourceOffset: start, sourceRowStride: columns,
            to: out.buffer, destinationOffset: 0, destinationRowStride: width,
            rows: rows, columns: width, accumulate: false)
        return out.recorded("slice", inputs: [self]) { dy, sink in
            try sink.add(to: 0, accumulating: { dx, accumulate in
                try dy.device.copy2D(
                    from: dy.buffer, sourceOffset: 0, sourceRowStride: width,
                    to: dx, destinationOffset: start, destinationRowStride: columns,
                    rows: rows, columns: width, accumulate: accumulate)
            })
        }
    }

    /// Consecutive pieces of the last axis with the given widths (which must add up to it).
    public func split(lastAxis widths: [Int]) throws -> [Tensor] {
        guard widths.reduce(0, +) == rowsAndColumns.columns else {
            throw DeviceError.shapeMismatch(operation: "split(lastAxis:) of '\(label)'", lhs: shape, rhs: widths)
        }
        var start = 0
        return try widths.map { width in
            defer { start += width }
            return try slice(lastAxis: start..<(start + width))
        }
    }

    /// The tensors side by side along the last axis; all other dimensions must agree.
    public static func concatenate(lastAxis tensors: [Tensor]) throws -> Tensor {
        guard let first = tensors.first else {
            throw DeviceError.invalidArgument(operation: "concatenate", message: "no tensors")
        }
        if tensors.count == 1 { return first }
        try first.requireSameDevice(tensors, "concatenate")
        let rows = first.rowsAndColumns.rows
        for tensor in tensors where tensor.shape.dropLast() != first.shape.dropLast() || tensor.rank != first.rank {
            throw DeviceError.shapeMismatch(operation: "concatenate(lastAxis:)", lhs: first.shape, rhs: tensor.shape)
        }
        let widths = tensors.map(\.rowsAndColumns.columns)
        let total = widths.reduce(0, +)
        let offsets = widths.indices.map { widths[..<$0].reduce(0, +) }
        let device = first.device
        let out = try Tensor.output(device, first.shapeWithLast(total), "concatenate")
        for (index, tensor) in tensors.enumerated() {
            try device.copy2D(
                from: tensor.buffer, sourceOffset: 0, sourceRowStride: widths[index],
                to: out.buffer, destinationOffset: offsets[index], destinationRowStride: total,
                rows: rows, columns: widths[index], accumulate: false)
        }
        // The closure captures widths and offsets only, not the inputs: their buffers may go.
        return out.recorded("concatenate", inputs: tensors) { dy, sink in
            for index in widths.indices where sink.needsGradient(index) {
                try sink.add(to: index, accumulating: { dx, accumulate in
                    try device.copy2D(
                        from: dy.buffer, sourceOffset: offsets[index], sourceRowStride: total,
                        to: dx, destinationOffset: 0, destinationRowStride: widths[index],
                        rows: rows, columns: widths[index], accumulate: accumulate)
                })
            }
        }
    }
}
