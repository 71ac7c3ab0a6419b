import Core

/// Sums and means (`Device.reduceSum`, fixed summation order: the same bits every run).
extension Tensor {
    /// Σ of all elements, as a scalar (shape `[]`).
    public func sum() throws -> Tensor {
        try reducing(outer: 1, reduced: count, inner: 1, to: [], keptShape: shape.map { _ in 1 }, "sum")
    }

    /// Mean of all elements, as a scalar.
    public func mean() throws -> Tensor { try sum().scaled(by: 1 / Float(count)) }

    /// Σ along `axis` (negative counts from the end); the axis is dropped unless `keepingDimension`.
    public func sum(axis: Int, keepingDimension: Bool = false) throws -> Tensor {
        let axis = try normalized(axis, "sum(axis:)")
        var kept = shape
        kept[axis] = 1
        var dropped = shape
        dropped.remove(at: axis)
        return try reducing(
            outer: shape[..<axis].reduce(1, *), reduced: shape[axis], inner: shape[(axis + 1)...].reduce(1, *),
            to: keepingDimension ? kept : dropped, keptShape: kept, "sum(axis:)")
    }

    /// Mean along `axis` (negative counts from the end).
    public func mean(axis: Int, keepingDimension: Bool = false) throws -> Tensor {
        let size = shape[try normalized(axis, "mean(axis:)")]
        return try sum(axis: axis, keepingDimension: keepingDimension).scaled(by: 1 / Float(size))
    }

    /// `axis` in 0..<rank, or an error naming the operation.
    func normalized(_ axis: Int, _ operation: String) throws -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard (0..<rank).contains(resolved) else {
            throw DeviceError.invalidArgument(
                operation: operation, message: "axis \(axis) out of range for shape \(shape)")
        }
        return resolved
    }

    /// The [outer, reduced, inner] middle-axis sum; the gradient broadcasts back through
    /// `keptShape` (the output with the reduced axis kept as 1).
    private func reducing(outer: Int, reduced: Int, inner: Int, to outShape: [Int], keptShape: [Int], _ name: String)
        throws -> Tensor
    {
        let out = try Tensor.output(device, outShape, name)
        try device.reduceSum(buffer, out: out.buffer, outer: outer, reduced: reduced, inner: inner)
        let inputShape = shape
        return out.recorded(name, inputs: [self]) { dy, sink in
            try sink.add(dy.reshaped(keptShape).broadcast(to: inputShape), to: 0)
        }
    }
}
