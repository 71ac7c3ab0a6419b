import Core

/// How a per-row loss is reduced to what `crossEntropy` returns.
public enum LossReduction: Sendable {
    /// One loss per row (0 for ignored rows), shaped like the targets.
    case none
    /// The sum over rows (ignored rows add 0): for a mean over the tokens of a whole
    /// accumulation step, divide this by that step's target count (docs/formats.md §6.1).
    case sum
    /// The sum divided by the number of rows not ignored (PyTorch's default). When every row is
    /// ignored the result is 0 with zero gradient (PyTorch returns NaN), so a micro-batch of
    /// prompt tokens only adds nothing.
    case mean
}

/// Softmax over the last axis and the losses built on it (`Kernels/softmax.cl`).
extension Tensor {
    /// softmax over the last axis.
    public func softmax() throws -> Tensor { try softmaxFamily(log: false) }

    /// log-softmax over the last axis (computed stably, not as log(softmax)).
    public func logSoftmax() throws -> Tensor { try softmaxFamily(log: true) }

    private func softmaxFamily(log: Bool) throws -> Tensor {
        let name = log ? "logSoftmax" : "softmax"
        let (rows, columns) = rowsAndColumns
        let out = try Tensor.output(device, shape, name)
        try device.softmax(buffer, out: out.buffer, rows: rows, columns: columns, log: log)
        let y = out.detached()
        return out.recorded(name, inputs: [self]) { dy, sink in
            try sink.add(
                to: 0,
                overwriting: { dx in
                    try y.device.softmaxBackward(
                        y: y.buffer, dy: dy.buffer, dx: dx, rows: rows, columns: columns, log: log)
                })
        }
    }

    /// Cross-entropy of `logits` [..., V] against int32 `targets` (one per row, shaped like the
    /// logits without their last axis): per row logsumexp(z) − z[target], 0 where the target is
    /// `ignoreIndex`. Reduced as `reduction` says. Targets are not shifted here: pass the
    /// labels of the next position (docs/formats.md §6.1).
    public static func crossEntropy(
        logits: Tensor, targets: IntTensor, ignoreIndex: Int32 = -100, reduction: LossReduction = .mean
    ) throws -> Tensor {
        let losses = try perRowCrossEntropy(logits, targets, ignoreIndex)
        switch reduction {
        case .none:
            return losses
        case .sum:
            return try losses.sum()
        case .mean:
            let counted = try targets.values().reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
            return try losses.sum().scaled(by: 1 / Float(max(counted, 1)))
        }
    }

    /// log p(target | row) = log_softmax(logits)[target] per row, shaped like the targets, 0
    /// where the target is `ignoreIndex` (TRL's `selective_log_softmax`: the token log-probs
    /// of DPO, PPO and GRPO). It is −`crossEntropy(reduction: .none)`.
    public static func tokenLogProbs(logits: Tensor, targets: IntTensor, ignoreIndex: Int32 = -100) throws -> Tensor {
        try perRowCrossEntropy(logits, targets, ignoreIndex).negated()
    }

    /// The per-row losses, recorded with their gradient (softmax − onehot, scaled per row).
    private static func perRowCrossEntropy(_ logits: Tensor, _ targets: IntTensor, _ ignoreIndex: Int32) throws
        -> Tensor
    {
        let device = logits.device
        try logits.requireSameDevice(targets, "crossEntropy")
        let (rows, columns) = logits.rowsAndColumns
        guard targets.count == rows else {
            throw DeviceError.shapeMismatch(
                operation: "crossEntropy (targets per logits row)", lhs: targets.shape, rhs: [rows])
        }
        let losses = try Tensor.output(device, targets.shape, "crossEntropy")
        let logSumExp = try device.makeBuffer(count: rows, dtype: .float32, label: "crossEntropy logSumExp")
        try device.crossEntropy(
            logits: logits.buffer, targets: targets.buffer, losses: losses.buffer, logSumExp: logSumExp,
            rows: rows, columns: columns, ignoreIndex: ignoreIndex)
        let savedLogits = logits.detached()
        return losses.recorded("crossEntropy", inputs: [logits]) { dLosses, sink in
            try sink.add(
                to: 0,
                overwriting: { dLogits in
                    try device.crossEntropyBackward(
                        logits: savedLogits.buffer, targets: targets.buffer, logSumExp: logSumExp,
                        dLosses: dLosses.buffer,
                        dLogits: dLogits, rows: rows, columns: columns, ignoreIndex: ignoreIndex)
                })
        }
    }
}
