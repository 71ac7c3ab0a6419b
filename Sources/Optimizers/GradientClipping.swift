import Core
import Tensors

extension ParameterStore {
    /// The global gradient norm N = √(Σ over trainable parameters of ‖g‖²), from one
    /// `sumOfSquares` over the flat gradient buffer (padding holds zeros) and one read.
    public func gradientNorm() throws -> Float {
        let sum = try device.makeBuffer(count: 1, dtype: .float32, label: "gradient sum of squares")
        try device.sumOfSquares(gradients, count: layout.trainableCount, out: sum)
        return try device.readFloats(sum)[0].squareRoot()
    }

    /// PyTorch's `clip_grad_norm_` (docs/formats.md §6.9): computes the global norm N and, when
    /// maxNorm/(N + 1e-6) < 1, scales every gradient by that factor. Returns N (before
    /// clipping). A non-finite N (an overflow or NaN in some gradient) is returned without
    /// touching the gradients: the caller should skip the step (and zero the gradients).
    @discardableResult
    public func clipGradientNorm(maxNorm: Float) throws -> Float {
        let norm = try gradientNorm()
        guard norm.isFinite else { return norm }
        let factor = maxNorm / (norm + 1e-6)
        if factor < 1 {
            try device.unary(.scale(factor), gradients, out: gradients, count: layout.trainableCount)
        }
        return norm
    }
}
