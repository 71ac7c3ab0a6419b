import Core

/// NumPy broadcasting of two shapes of any rank, folded to the rank-4 `BroadcastShape` the
/// devices take.
///
/// Folding: size-1 output dimensions are dropped, and neighbouring dimensions merge when both
/// operands treat them alike (both present, or the same one broadcast). So [B, T, C] + [C]
/// becomes [B·T, C] + [1, C], and only shapes that alternate broadcast patterns more than
/// four times are rejected.
struct BroadcastPlan {
    /// The output shape (NumPy rules).
    let shape: [Int]
    /// The folded layout for `Device.binary`.
    let layout: BroadcastShape

    init(_ a: [Int], _ b: [Int], operation: String) throws {
        let rank = max(a.count, b.count)
        let paddedA = Array(repeating: 1, count: rank - a.count) + a
        let paddedB = Array(repeating: 1, count: rank - b.count) + b
        var output: [Int] = []
        for (x, y) in zip(paddedA, paddedB) {
            guard x == y || x == 1 || y == 1 else {
                throw DeviceError.shapeMismatch(operation: operation + " (broadcasting)", lhs: a, rhs: b)
            }
            output.append(max(x, y))
        }
        // Fold: (size, a present, b present) runs.
        var folded: [(size: Int, inA: Bool, inB: Bool)] = []
        for i in 0..<rank where output[i] > 1 {
            let inA = paddedA[i] > 1
            let inB = paddedB[i] > 1
            if let last = folded.last, last.inA == inA, last.inB == inB {
                folded[folded.count - 1].size *= output[i]
            } else {
                folded.append((output[i], inA, inB))
            }
        }
        if folded.isEmpty { folded = [(1, true, true)] }
        guard folded.count <= 4,
            let (_, layout) = BroadcastShape.broadcasting(
                folded.map { $0.inA ? $0.size : 1 }, folded.map { $0.inB ? $0.size : 1 })
        else {
            throw DeviceError.invalidArgument(
                operation: operation, message: "broadcasting \(a) with \(b) needs more than 4 folded dimensions")
        }
        shape = output
        self.layout = layout
    }

    /// The layout that broadcasts one operand of shape `source` to `target` and pairs it with a
    /// one-element second operand (stride 0 everywhere): how `broadcast(to:)` expands.
    static func expanding(_ source: [Int], to target: [Int], operation: String) throws -> BroadcastShape {
        let plan = try BroadcastPlan(source, target, operation: operation)
        guard plan.shape == target else {
            throw DeviceError.shapeMismatch(operation: operation + " (broadcast to)", lhs: source, rhs: target)
        }
        var layout = plan.layout
        layout.bStrides = [0, 0, 0, 0]
        return layout
    }

    /// The runs of `source` (dimensions folded as above) that summing down to `target` reduces:
    /// the sizes of alternating kept and reduced groups.
    static func reductionGroups(from source: [Int], to target: [Int], operation: String) throws -> [(
        size: Int, reduced: Bool
    )] {
        let plan = try BroadcastPlan(target, source, operation: operation)
        guard plan.shape == source else {
            throw DeviceError.shapeMismatch(operation: operation + " (sum to shape)", lhs: source, rhs: target)
        }
        let paddedTarget = Array(repeating: 1, count: source.count - min(target.count, source.count)) + target
        var groups: [(size: Int, reduced: Bool)] = []
        for (i, size) in source.enumerated() where size > 1 {
            let reduced = paddedTarget[i] == 1
            if let last = groups.last, last.reduced == reduced {
                groups[groups.count - 1].size *= size
            } else {
                groups.append((size, reduced))
            }
        }
        return groups
    }
}

extension Tensor {
    /// This tensor repeated along size-1 (or missing leading) dimensions to `shape` (NumPy
    /// broadcasting). The backward pass sums the gradient back (`sum(toShape:)`).
    public func broadcast(to target: [Int]) throws -> Tensor {
        if target == shape { return self }
        try Tensor.requireValid(target, in: "broadcast")
        let layout = try BroadcastPlan.expanding(shape, to: target, operation: "broadcast")
        let out = try Tensor.output(device, target, "broadcast")
        // The second operand is one zero (fresh buffers are zeroed): out = x + 0, exactly x.
        let zero = try device.makeBuffer(count: 1, dtype: .float32, label: "zero")
        try device.binary(.add, buffer, zero, out: out.buffer, shape: layout)
        let sourceShape = shape
        return out.recorded("broadcast", inputs: [self]) { gradient, sink in
            try sink.add(gradient.sum(toShape: sourceShape), to: 0)
        }
    }

    /// Sums this tensor down to `target`, a shape that broadcasts to this one (the adjoint of
    /// `broadcast(to:)`, and how broadcast operands receive their gradients).
    public func sum(toShape target: [Int]) throws -> Tensor {
        if target == shape { return self }
        var groups = try BroadcastPlan.reductionGroups(from: shape, to: target, operation: "sum(toShape:)")
        var current = self.detached()
        while let index = groups.lastIndex(where: \.reduced) {
            let outer = groups[..<index].reduce(1) { $0 * $1.size }
            let inner = groups[(index + 1)...].reduce(1) { $0 * $1.size }
            let reducedShape = [outer * inner]
            let next = try Tensor.output(device, reducedShape, "sum(toShape:)")
            try device.reduceSum(
                current.buffer, out: next.buffer, outer: outer, reduced: groups[index].size, inner: inner)
            groups.remove(at: index)
            current = next
        }
        let out = Tensor(unchecked: device, shape: target, buffer: current.buffer)
        let sourceShape = shape
        return out.recorded("sum(toShape:)", inputs: [self]) { gradient, sink in
            try sink.add(gradient.broadcast(to: sourceShape), to: 0)
        }
    }
}
