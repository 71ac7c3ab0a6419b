import Core

/// The fused AdamW update. The executable specification of `Kernels/optimizer.cl`.
extension ReferenceDevice {
    /// Follows `torch.optim.AdamW` (single-tensor path) operation by operation in float32, so
    /// that it agrees with PyTorch to rounding: θ·(1 − lr·wd), m.lerp(g, 1 − β₁),
    /// v·β₂ + (1 − β₂)·g·g, then θ − step_size·(m / (√v / √(1 − β₂ᵗ) + ε)).
    public func adamW(
        parameters: DeviceBuffer, gradients: DeviceBuffer, firstMoment: DeviceBuffer, secondMoment: DeviceBuffer,
        count: Int, decayCount: Int, step: AdamWStep
    ) throws {
        let operation = "adamW"
        try BufferChecks.requirePositive(["count": count, "step.step": step.step], in: operation)
        guard 0...count ~= decayCount else {
            throw DeviceError.invalidArgument(
                operation: operation, message: "decayCount \(decayCount) is outside 0...\(count)")
        }
        var theta = try floats(parameters, count, operation)
        let g = try floats(gradients, count, operation)
        var m = try floats(firstMoment, count, operation)
        var v = try floats(secondMoment, count, operation)
        let decay = 1 - step.learningRate * step.weightDecay
        let stepSize = step.learningRate / step.biasCorrection1
        let biasCorrection2Sqrt = step.biasCorrection2Sqrt
        for i in 0..<count {
            if i < decayCount { theta[i] *= decay }
            m[i] += (1 - step.beta1) * (g[i] - m[i])
            v[i] = v[i] * step.beta2 + (1 - step.beta2) * g[i] * g[i]
            let denominator = v[i].squareRoot() / biasCorrection2Sqrt + step.epsilon
            theta[i] -= stepSize * (m[i] / denominator)
        }
        try store(theta, parameters, operation)
        try store(m, firstMoment, operation)
        try store(v, secondMoment, operation)
    }
}
