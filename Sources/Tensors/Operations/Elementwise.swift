import Core

/// Elementwise functions of one tensor (`Device.unary`); gradients by `Device.unaryBackward`.
extension Tensor {
    /// −x.
    public func negated() throws -> Tensor { try applying(.negate) }
    /// eˣ.
    public func exp() throws -> Tensor { try applying(.exp) }
    /// Natural logarithm.
    public func log() throws -> Tensor { try applying(.log) }
    /// √x.
    public func sqrt() throws -> Tensor { try applying(.sqrt) }
    /// tanh x.
    public func tanh() throws -> Tensor { try applying(.tanh) }
    /// σ(x) = 1/(1 + e⁻ˣ).
    public func sigmoid() throws -> Tensor { try applying(.sigmoid) }
    /// log σ(x), computed stably (the DPO and reward-model losses are −logσ(·)).
    public func logSigmoid() throws -> Tensor { try applying(.logSigmoid) }
    /// GELU, tanh approximation (GPT-2's `gelu_new`).
    public func gelu() throws -> Tensor { try applying(.gelu) }
    /// SiLU x·σ(x) (Llama's MLP: `silu(gate) * up`).
    public func silu() throws -> Tensor { try applying(.silu) }
    /// max(x, 0); the gradient is 1 where x > 0.
    public func relu() throws -> Tensor { try applying(.relu) }
    /// x².
    public func squared() throws -> Tensor { try applying(.square) }
    /// x·factor.
    public func scaled(by factor: Float) throws -> Tensor { factor == 1 ? self : try applying(.scale(factor)) }
    /// x + constant.
    public func addingScalar(_ constant: Float) throws -> Tensor { try applying(.addScalar(constant)) }
    /// x limited to `range`; the gradient is 1 inside the range and 0 outside (PPO's ratio clip).
    public func clamped(to range: ClosedRange<Float>) throws -> Tensor {
        try applying(.clamp(range.lowerBound, range.upperBound))
    }

    /// f(x) elementwise, recorded with its gradient.
    func applying(_ op: UnaryOp) throws -> Tensor {
        let name = "\(op)"
        let out = try Tensor.output(device, shape, name)
        try device.unary(op, buffer, out: out.buffer, count: count)
        let count = count
        switch op {
        // Linear maps need no saved input: their gradient is a function of dy alone.
        case .negate, .scale:
            return out.recorded(name, inputs: [self]) { dy, sink in
                try sink.add(to: 0, overwriting: { dx in try dy.device.unary(op, dy.buffer, out: dx, count: count) })
            }
        case .addScalar:
            return out.recorded(name, inputs: [self]) { dy, sink in try sink.add(dy, to: 0) }
        default:
            let x = detached()
            return out.recorded(name, inputs: [self]) { dy, sink in
                try sink.add(
                    to: 0,
                    overwriting: { dx in
                        try x.device.unaryBackward(op, x: x.buffer, dy: dy.buffer, dx: dx, count: count)
                    })
            }
        }
    }
}
