import Tensors

extension Tensor {
    /// The entropy of softmax over the last axis, one value per row (shape without the last
    /// axis): H = logsumexp(z) − Σ softmax(z)·z = −Σ p·log p. PPO logs it (docs/formats.md §6.7); it is
    /// differentiable, for objectives that add an entropy bonus.
    public func softmaxEntropy() throws -> Tensor {
        try (softmax() * logSoftmax()).sum(axis: -1).negated()
    }
}
