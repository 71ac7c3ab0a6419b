import Core

extension Tensor {
    /// Inverted dropout: each element is zeroed with `probability` and the rest scaled by
    /// 1/(1 − probability), so evaluation needs no rescaling. The mask is a pure function of
    /// (`seed`, element index) (`DropoutMask`), so nothing is stored: the backward pass
    /// regenerates it, and a resumed run that restores its seeds reproduces it. Use a new seed
    /// for every call (e.g. from a `SeededGenerator`). Identity when not `training` or p = 0.
    public func dropout(probability: Float, seed: UInt64, training: Bool = true) throws -> Tensor {
        guard training, probability > 0 else { return self }
        guard probability < 1 else {
            throw DeviceError.invalidArgument(
                operation: "dropout", message: "probability \(probability) must be below 1")
        }
        let count = count
        let out = try Tensor.output(device, shape, "dropout")
        try device.dropout(buffer, out: out.buffer, count: count, probability: probability, seed: seed)
        return out.recorded("dropout", inputs: [self]) { dy, sink in
            try sink.add(
                to: 0,
                overwriting: { dx in
                    try dy.device.dropout(dy.buffer, out: dx, count: count, probability: probability, seed: seed)
                })
        }
    }
}
