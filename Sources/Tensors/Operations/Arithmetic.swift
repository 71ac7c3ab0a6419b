import Core

/// Elementwise arithmetic of two tensors with NumPy broadcasting. A broadcast operand's
/// gradient is summed over the dimensions it was repeated along.
extension Tensor {
    /// lhs + rhs.
    public static func + (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.combined(with: rhs, .add) }
    /// lhs − rhs.
    public static func - (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.combined(with: rhs, .subtract) }
    /// lhs ⊙ rhs (elementwise product).
    public static func * (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.combined(with: rhs, .multiply) }
    /// lhs / rhs (elementwise).
    public static func / (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.combined(with: rhs, .divide) }

    /// max(self, other) elementwise; where they tie, the gradient goes to `self`.
    public func maximum(_ other: Tensor) throws -> Tensor { try combined(with: other, .maximum) }
    /// min(self, other) elementwise; where they tie, the gradient goes to `self`.
    public func minimum(_ other: Tensor) throws -> Tensor { try combined(with: other, .minimum) }

    /// 1 where self ≥ other, else 0 (broadcast; not differentiable: the result is a constant).
    public func greaterOrEqual(_ other: Tensor) throws -> Tensor {
        try Tensor.withNoGrad { try combined(with: other, .greaterOrEqual) }
    }

    /// The elementwise `op` of self and other, recorded with its gradient.
    private func combined(with other: Tensor, _ op: BinaryOp) throws -> Tensor {
        let name = "\(op)"
        try requireSameDevice([other], name)
        let plan = try BroadcastPlan(shape, other.shape, operation: name)
        let out = try Tensor.output(device, plan.shape, name)
        try device.binary(op, buffer, other.buffer, out: out.buffer, shape: plan.layout)
        guard GradientMode.isEnabled, requiresGrad || other.requiresGrad else { return out }

        let a = self
        let b = other
        let aShape = shape
        let bShape = other.shape
        // Each case captures only what its gradient reads, so e.g. an addition keeps no buffer alive.
        let backward: GradientNode.Backward
        switch op {
        case .add:
            backward = { dy, sink in
                if sink.needsGradient(0) { try sink.add(dy.sum(toShape: aShape), to: 0) }
                if sink.needsGradient(1) { try sink.add(dy.sum(toShape: bShape), to: 1) }
            }
        case .subtract:
            backward = { dy, sink in
                if sink.needsGradient(0) { try sink.add(dy.sum(toShape: aShape), to: 0) }
                if sink.needsGradient(1) { try sink.add(dy.sum(toShape: bShape).negated(), to: 1) }
            }
        case .multiply:
            let aSaved = b.requiresGrad ? a.detached() : nil
            let bSaved = a.requiresGrad ? b.detached() : nil
            backward = { dy, sink in
                if let bSaved, sink.needsGradient(0) { try sink.add((dy * bSaved).sum(toShape: aShape), to: 0) }
                if let aSaved, sink.needsGradient(1) { try sink.add((dy * aSaved).sum(toShape: bShape), to: 1) }
            }
        case .divide:
            // d(a/b)/da = 1/b; d(a/b)/db = −(a/b)/b, read from the output.
            let bSaved = b.detached()
            let quotient = b.requiresGrad ? out.detached() : nil
            backward = { dy, sink in
                if sink.needsGradient(0) { try sink.add((dy / bSaved).sum(toShape: aShape), to: 0) }
                if let quotient, sink.needsGradient(1) {
                    try sink.add((dy * quotient / bSaved).sum(toShape: bShape).negated(), to: 1)
                }
            }
        case .maximum, .minimum:
            // The mask marks where `self` won (ties included).
            let mask = try op == .maximum ? a.greaterOrEqual(b) : b.greaterOrEqual(a)
            backward = { dy, sink in
                let toA = try dy * mask
                if sink.needsGradient(0) { try sink.add(toA.sum(toShape: aShape), to: 0) }
                if sink.needsGradient(1) { try sink.add((dy - toA).sum(toShape: bShape), to: 1) }
            }
        case .greaterOrEqual:
            return out
        }
        return out.recorded(name, inputs: [a, b], backward: backward)
    }
}

/// Arithmetic with a constant.
extension Tensor {
    /// x + c.
    public static func + (lhs: Tensor, rhs: Float) throws -> Tensor { try lhs.addingScalar(rhs) }
    /// c + x.
    public static func + (lhs: Float, rhs: Tensor) throws -> Tensor { try rhs.addingScalar(lhs) }
    /// x − c.
    public static func - (lhs: Tensor, rhs: Float) throws -> Tensor { try lhs.addingScalar(-rhs) }
    /// c − x.
    public static func - (lhs: Float, rhs: Tensor) throws -> Tensor { try rhs.negated().addingScalar(lhs) }
    /// x·c.
    public static func * (lhs: Tensor, rhs: Float) throws -> Tensor { try lhs.scaled(by: rhs) }
    /// c·x.
    public static func * (lhs: Float, rhs: Tensor) throws -> Tensor { try rhs.scaled(by: lhs) }
    /// x / c.
    public static func / (lhs: Tensor, rhs: Float) throws -> Tensor { try lhs.scaled(by: 1 / rhs) }
    /// −x.
    public static prefix func - (operand: Tensor) throws -> Tensor { try operand.negated() }
}
