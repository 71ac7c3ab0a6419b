import Core
import Tensors

/// The completion log-probs of a batch of sequences (docs/formats.md §6): per token
/// ℓp_t = log_softmax(z_t)[x_{t+1}], their masked sum LP = Σ_t m_t·ℓp_t and mean ALP = LP / Σ_t m_t.
///
/// DPO and the reward-free losses read `sums`, IPO and SimPO the length-normalised `means`,
/// PPO and GRPO the per-token `tokens`. Everything is differentiable with respect to the logits.
public struct SequenceLogProbs {
    /// ℓp_t per token, [sequences, length]; 0 at tokens outside the mask.
    public let tokens: Tensor
    /// LP per sequence, [sequences].
    public let sums: Tensor
    /// ALP per sequence, [sequences] (0 for a sequence without completion tokens).
    public let means: Tensor
    /// Σ_t m_t per sequence.
    public let tokenCounts: [Int]

    /// Log-probs of `targets` under `logits`.
    ///
    /// - Parameters:
    ///   - logits: [sequences · length, vocabulary] (or [sequences, length, vocabulary]); row t
    ///     holds the logits that predict token t of the completion.
    ///   - targets: the token each row predicts, [sequences · length]; −100 (or any id at a
    ///     masked position) contributes nothing.
    ///   - mask: the completion mask.
    ///   - temperature: when given, logits are divided by `temperature + 1e-7` first, as TRL's
    ///     PPO and GRPO do both when sampling and when training.
    public init(logits: Tensor, targets: IntTensor, mask: TokenMask, temperature: Float? = nil) throws {
        let rows = mask.sequences * mask.length
        guard let vocabulary = logits.shape.last, logits.count == rows * vocabulary, targets.count == rows else {
            throw DeviceError.shapeMismatch(
                operation: "SequenceLogProbs (logits, targets against mask \(mask.shape))", lhs: logits.shape,
                rhs: targets.shape)
        }
        var rowLogits = try logits.reshaped([rows, vocabulary])
        if let temperature { rowLogits = try rowLogits.scaled(by: 1 / (temperature + 1e-7)) }
        let tokenLogProbs = try Tensor.tokenLogProbs(logits: rowLogits, targets: targets.reshaped([rows]))
        try self.init(tokenLogProbs: tokenLogProbs, mask: mask)
    }

    /// Sums and means of per-token log-probs computed elsewhere ([sequences, length] values).
    public init(tokenLogProbs: Tensor, mask: TokenMask) throws {
        let maskTensor = try mask.tensor(on: tokenLogProbs.device)
        try mask.require(tokenLogProbs, "SequenceLogProbs")
        tokens = try tokenLogProbs.reshaped(mask.shape) * maskTensor
        sums = try tokens.sum(axis: 1)
        tokenCounts = mask.counts
        means =
            try sums
            * Tensor(
                device: tokenLogProbs.device, shape: [mask.sequences],
                values: tokenCounts.map { 1 / Float(max($0, 1)) },
                label: "1/token count")
    }
}
