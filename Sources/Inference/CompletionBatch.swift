import Core
import Datasets
import Formats
import Models
import Tensors

/// Several tokenized chats right-padded into one batch, with the bookkeeping every
/// post-training loss needs: which rows of the model's output predict each completion token
/// (the tokens whose label is set), laid out completion-aligned as [sequences, completionLength]
/// with a `TokenMask`, and the row of each sequence's last real token (where a reward or value
/// head reads its score).
///
/// Right padding needs no attention mask: attention is causal, so padding after a sequence
/// never reaches its real tokens. Completion tokens may sit anywhere in a row (after a prompt
/// of any length), since rows are gathered by index.
public struct CompletionBatch {
    /// Sequences in the batch.
    public let sequences: Int
    /// Padded sequence length.
    public let length: Int
    /// Token ids, [sequences·length] row-major, padded with the pad id.
    public let ids: [Int32]
    /// Completion tokens of each sequence, in order, right-padded: the mask's layout.
    public let mask: TokenMask
    /// For each completion slot, the output row (sequence·length + position) that predicts it;
    /// slots outside the mask point at row 0 and are masked out.
    public let predictingRows: [Int32]
    /// For each completion slot, the token it predicts (0 outside the mask).
    public let completionTokens: [Int32]
    /// The output row of each sequence's last real token.
    public let lastRows: [Int32]
    /// Real (non-pad) tokens of each sequence.
    public let sequenceLengths: [Int]

    /// A batch of `examples`; a token is a completion token when its label is set (the first
    /// token of a sequence, which nothing predicts, never is).
    public init(_ examples: [ChatExample], padID: Int) throws {
        guard !examples.isEmpty, examples.allSatisfy({ !$0.ids.isEmpty }) else {
            throw DeviceError.invalidArgument(
                operation: "CompletionBatch", message: "needs at least one non-empty sequence")
        }
        let length = examples.map(\.ids.count).max()!
        let completions = examples.map { example in
            (1..<max(example.ids.count, 1)).filter { example.labels[$0] != ChatExample.ignoredLabel }
        }
        let width = max(completions.map(\.count).max()!, 1)
        var rows = [Int32](repeating: 0, count: examples.count * width)
        var tokens = [Int32](repeating: 0, count: examples.count * width)
        for (sequence, positions) in completions.enumerated() {
            for (slot, position) in positions.enumerated() {
                rows[sequence * width + slot] = Int32(sequence * length + position - 1)
                tokens[sequence * width + slot] = Int32(examples[sequence].ids[position])
            }
        }
        sequences = examples.count
        self.length = length
        ids = examples.flatMap { $0.padded(to: length, padID: padID).ids.map(Int32.init) }
        mask = try TokenMask(lengths: completions.map(\.count), length: width)
        predictingRows = rows
        completionTokens = tokens
        lastRows = examples.indices.map { Int32($0 * length + examples[$0].ids.count - 1) }
        sequenceLengths = examples.map(\.ids.count)
    }

    /// The batch as a model reads it, on `device`.
    public func tokenBatch(on device: Device) throws -> TokenBatch {
        TokenBatch(
            ids: try IntTensor(device: device, shape: [ids.count], values: ids, label: "input ids"),
            batch: sequences, length: length)
    }

    /// Completion tokens in the batch.
    public var completionTokenCount: Int { mask.total }

    /// The completion log-probs of `model` (differentiable unless under `Tensor.withNoGrad`):
    /// the LM head runs only on the predicting rows.
    public func logProbs(_ model: LanguageModel, dropout: DropoutSettings? = nil, temperature: Float? = nil) throws
        -> SequenceLogProbs
    {
        let device = model.parameters.device
        let hidden = try model.hiddenStates(tokenBatch(on: device), dropout: dropout)
        let rows = try IntTensor(
            device: device, shape: [predictingRows.count], values: predictingRows, label: "predicting rows")
        let logits = try model.logits(fromHidden: hidden.gatherRows(rows))
        let targets = try IntTensor(
            device: device, shape: [completionTokens.count], values: completionTokens, label: "completion tokens")
        return try SequenceLogProbs(logits: logits, targets: targets, mask: mask, temperature: temperature)
    }

    /// The head's value at each completion slot's predicting row (the state before the token),
    /// [sequences, completionLength]: PPO's value estimates.
    public func values(_ model: ScalarHeadModel, dropout: DropoutSettings? = nil) throws -> Tensor {
        try model.values(tokenBatch(on: model.parameters.device), atRows: predictingRows, dropout: dropout).reshaped(
            mask.shape)
    }

    /// The head's score at each sequence's last real token, [sequences]: the reward.
    public func scores(_ model: ScalarHeadModel, dropout: DropoutSettings? = nil) throws -> Tensor {
        try model.values(tokenBatch(on: model.parameters.device), atRows: lastRows, dropout: dropout)
    }
}
