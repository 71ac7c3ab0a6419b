import Core

/// LayerNorm (GPT-2) and RMSNorm (Llama) over the last axis (`Kernels/normalization.cl`).
///
/// One device call computes all gradients at once (dx, and the parameter gradients summed
/// over rows), so the backward pass writes them to temporaries and hands each to its input:
/// the usual first gradient of the residual stream is adopted without a copy.
extension Tensor {
    /// (x − mean)/√(var + ε)·weight + bias per row of the last axis (biased variance).
    public func layerNorm(weight: Tensor, bias: Tensor, epsilon: Float = 1e-5) throws -> Tensor {
        try requireSameDevice([weight, bias], "layerNorm")
        let (rows, columns) = rowsAndColumns
        try Tensor.requireVector(weight, columns, "layerNorm weight")
        try Tensor.requireVector(bias, columns, "layerNorm bias")
        let out = try Tensor.output(device, shape, "layerNorm")
        let mean = try device.makeBuffer(count: rows, dtype: .float32, label: "layerNorm mean")
        let rstd = try device.makeBuffer(count: rows, dtype: .float32, label: "layerNorm rstd")
        try device.layerNorm(
            buffer, weight: weight.buffer, bias: bias.buffer, out: out.buffer,
            mean: mean, rstd: rstd, rows: rows, columns: columns, epsilon: epsilon)
        let x = detached()
        let w = weight.detached()
        return out.recorded("layerNorm", inputs: [self, weight, bias]) { dy, sink in
            let dx = try Tensor.output(x.device, x.shape, "layerNorm dx")
            let dWeight = try Tensor.output(x.device, w.shape, "layerNorm dWeight")
            let dBias = try Tensor.output(x.device, w.shape, "layerNorm dBias")
            try x.device.layerNormBackward(
                x.buffer, weight: w.buffer, mean: mean, rstd: rstd, dy: dy.buffer,
                dx: dx.buffer, dWeight: dWeight.buffer, dBias: dBias.buffer, rows: rows, columns: columns)
            try sink.add(dx, to: 0)
            try sink.add(dWeight, to: 1)
            try sink.add(dBias, to: 2)
        }
    }

    /// weight ⊙ x/√(mean(x²) + ε) per row of the last axis.
    public func rmsNorm(weight: Tensor, epsilon: Float = 1e-6) throws -> Tensor {
        try requireSameDevice([weight], "rmsNorm")
        let (rows, columns) = rowsAndColumns
        try Tensor.requireVector(weight, columns, "rmsNorm weight")
        let out = try Tensor.output(device, shape, "rmsNorm")
        let rstd = try device.makeBuffer(count: rows, dtype: .float32, label: "rmsNorm rstd")
        try device.rmsNorm(
            buffer, weight: weight.buffer, out: out.buffer, rstd: rstd, rows: rows, columns: columns, epsilon: epsilon)
        let x = detached()
        let w = weight.detached()
        return out.recorded("rmsNorm", inputs: [self, weight]) { dy, sink in
            let dx = try Tensor.output(x.device, x.shape, "rmsNorm dx")
            let dWeight = try Tensor.output(x.device, w.shape, "rmsNorm dWeight")
            try x.device.rmsNormBackward(
                x.buffer, weight: w.buffer, rstd: rstd, dy: dy.buffer,
                dx: dx.buffer, dWeight: dWeight.buffer, rows: rows, columns: columns)
            try sink.add(dx, to: 0)
            try sink.add(dWeight, to: 1)
        }
    }

    /// Throws unless `tensor` has exactly `count` elements (a per-column parameter).
    static func requireVector(_ tensor: Tensor, _ count: Int, _ operation: String) throws {
        guard tensor.count == count else {
            throw DeviceError.shapeMismatch(
                operation: "\(operation) '\(tensor.label)'", lhs: tensor.shape, rhs: [count])
        }
    }
}
