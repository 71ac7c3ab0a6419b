import Core
import Models
import Tensors

extension LanguageModel {
    /// Per-token log-probs of each completion after its prompt, by teacher forcing:
    /// `result[i][t] = log π(completions[i][t] | prompts[i] + completions[i][..<t])`, without
    /// recording gradients (evaluation, PPO's rollout log-probs, KL to a reference).
    ///
    /// Each chunk of `batchSize` sequences is right-padded into one `TokenBatch`: padding comes
    /// after every real token, so causal attention never lets a real token see it and the
    /// default positions 0, 1, … are right, and no mask is needed. Only the hidden states that
    /// predict a completion token (position `prompt.count + t − 1`) go through the LM head,
    /// picked with `gatherRows`, so the logits hold one row per completion token instead of
    /// one per position.
    ///
    /// - Parameters:
    ///   - completions: token ids, one list per prompt; an empty completion gets `[]`.
    ///   - prompts: non-empty token ids; prompt plus completion must fit the model's context.
    ///   - batchSize: sequences per forward pass.
    public func completionLogProbs(of completions: [[Int32]], after prompts: [[Int32]], batchSize: Int = 16) throws -> [[Float]] {
        func fail(_ message: String) -> DeviceError { .invalidArgument(operation: "completionLogProbs", message: message) }
        guard prompts.count == completions.count else {
            throw fail("\(prompts.count) prompts but \(completions.count) completions")
        }
        guard batchSize > 0 else { throw fail("batch size \(batchSize) must be positive") }
        for (row, (prompt, completion)) in zip(prompts, completions).enumerated() {
            guard !prompt.isEmpty else { throw fail("prompt \(row) is empty (nothing predicts the first completion token)") }
            guard prompt.count + completion.count <= config.maxPositions else {
                throw fail("sequence \(row) has \(prompt.count) + \(completion.count) tokens; the context holds \(config.maxPositions)")
            }
        }
        return try Tensor.withNoGrad {
            try stride(from: 0, to: prompts.count, by: batchSize).flatMap { start in
                let end = min(start + batchSize, prompts.count)
                return try chunkLogProbs(prompts: Array(prompts[start..<end]), completions: Array(completions[start..<end]))
            }
        }
    }

    /// The log-probs of one right-padded batch.
    private func chunkLogProbs(prompts: [[Int32]], completions: [[Int32]]) throws -> [[Float]] {
        let sequences = zip(prompts, completions).map { $0 + $1 }
        guard completions.contains(where: { !$0.isEmpty }) else { return completions.map { _ in [] } }
        let device = parameters.device
        let width = sequences.map(\.count).max()!
        let ids = sequences.flatMap { $0 + [Int32](repeating: 0, count: width - $0.count) }
        // Row r·width + p of the hidden states predicts the token at position p + 1 of sequence r.
        var rows: [Int32] = []
        for (row, (prompt, completion)) in zip(prompts, completions).enumerated() {
            rows += (0..<completion.count).map { Int32(row * width + prompt.count - 1 + $0) }
        }
        let batch = TokenBatch(ids: try IntTensor(device: device, shape: [ids.count], values: ids, label: "completion ids"),
                               batch: sequences.count, length: width)
        let hidden = try hiddenStates(batch, dropout: nil)
            .gatherRows(try IntTensor(device: device, shape: [rows.count], values: rows, label: "completion rows"))
        let targets = try IntTensor(device: device, shape: [rows.count], values: completions.flatMap { $0 }, label: "completion targets")
        let flat = try Tensor.tokenLogProbs(logits: logits(fromHidden: hidden), targets: targets).values()
        var offset = 0
        return completions.map { completion in
            defer { offset += completion.count }
            return Array(flat[offset..<(offset + completion.count)])
        }
    }
}
