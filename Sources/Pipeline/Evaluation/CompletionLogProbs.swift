import Core
import Datasets
import Inference
import Models
import Tensors

extension LanguageModel {
    /// Per-token log-probs of each completion after its prompt, by teacher forcing:
    /// `result[i][t] = log π(completions[i][t] | prompts[i] + completions[i][..<t])`, without
    /// recording gradients (evaluation, PPO's rollout log-probs, KL to a reference).
    ///
    /// Each chunk of `batchSize` sequences is one right-padded `CompletionBatch`, so only the
    /// hidden states that predict a completion token go through the LM head.
    ///
    /// - Parameters:
    ///   - completions: token ids, one list per prompt; an empty completion gets `[]`.
    ///   - prompts: non-empty token ids; prompt plus completion must fit the model's context.
    ///   - batchSize: sequences per forward pass.
    public func completionLogProbs(of completions: [[Int32]], after prompts: [[Int32]], batchSize: Int = 16) throws
        -> [[Float]]
    {
        func fail(_ message: String) -> DeviceError {
            .invalidArgument(operation: "completionLogProbs", message: message)
        }
        guard prompts.count == completions.count else {
            throw fail("\(prompts.count) prompts but \(completions.count) completions")
        }
        guard batchSize > 0 else { throw fail("batch size \(batchSize) must be positive") }
        for (row, (prompt, completion)) in zip(prompts, completions).enumerated() {
            guard !prompt.isEmpty else {
                throw fail("prompt \(row) is empty (nothing predicts the first completion token)")
            }
            guard prompt.count + completion.count <= config.maxPositions else {
                throw fail(
                    "sequence \(row) has \(prompt.count) + \(completion.count) tokens; the context holds \(config.maxPositions)"
                )
            }
        }
        return try Tensor.withNoGrad {
            try stride(from: 0, to: prompts.count, by: batchSize).flatMap { start in
                let end = min(start + batchSize, prompts.count)
                return try chunkLogProbs(
                    prompts: Array(prompts[start..<end]), completions: Array(completions[start..<end]))
            }
        }
    }

    /// The log-probs of one right-padded batch (a `CompletionBatch` of prompt + completion).
    private func chunkLogProbs(prompts: [[Int32]], completions: [[Int32]]) throws -> [[Float]] {
        guard completions.contains(where: { !$0.isEmpty }) else { return completions.map { _ in [] } }
        let examples = zip(prompts, completions).map { prompt, completion in
            ChatExample(
                ids: (prompt + completion).map(Int.init),
                labels: prompt.map { _ in ChatExample.ignoredLabel } + completion.map(Int.init),
                promptLength: prompt.count)
        }
        let batch = try CompletionBatch(examples, padID: 0)
        let tokens = try batch.logProbs(self).tokens.values()
        let width = batch.mask.length
        return completions.enumerated().map { row, completion in
            Array(tokens[(row * width)..<(row * width + completion.count)])
        }
    }
}
