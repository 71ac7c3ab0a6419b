import Formats

/// Which tokens of a chat the loss trains.
public enum ChatLossScope: String, Sendable, CaseIterable {
    /// Only the trained assistant turns: content plus end-of-turn token (docs/formats.md §4.5).
    case assistantOnly = "assistant_only"
    /// Every token (plain language modelling on the rendered chat).
    case allTokens = "all_tokens"
}

/// A tokenized chat with its labels (docs/formats.md §6.1): `labels[t]` is `ids[t]` where the loss trains
/// and `ignoredLabel` elsewhere. Labels are not shifted; the loss makes position t predict
/// `labels[t + 1]`.
public struct ChatExample: Equatable, Sendable {
    /// The label of positions the loss ignores (PyTorch's `ignore_index`).
    public static let ignoredLabel = -100

    public var ids: [Int]
    public var labels: [Int]
    /// Tokens before the first token of the trained completion: the part that may be cut from the
    /// left when too long (the whole example when no assistant turn is trained).
    public var promptLength: Int

    public init(ids: [Int], labels: [Int], promptLength: Int) {
        precondition(ids.count == labels.count, "one label per token")
        self.ids = ids
        self.labels = labels
        self.promptLength = promptLength
    }

    /// Number of tokens the loss trains.
    public var trainedCount: Int { labels.reduce(0) { $0 + ($1 == Self.ignoredLabel ? 0 : 1) } }

    /// The example without its first `count` tokens (which must all be prompt tokens).
    public func droppingPrompt(_ count: Int) -> ChatExample {
        precondition(count <= promptLength, "only prompt tokens are cut")
        return ChatExample(
            ids: Array(ids.dropFirst(count)), labels: Array(labels.dropFirst(count)), promptLength: promptLength - count
        )
    }

    /// Ids, labels and attention mask right-padded to `length` with `padID`. Padding is told by
    /// the mask, never by comparing ids with `padID`, so a real end-of-turn token that shares the
    /// pad id (pad == eos) keeps its label.
    public func padded(to length: Int, padID: Int) -> (ids: [Int], labels: [Int], attentionMask: [Int]) {
        precondition(length >= ids.count, "padding never cuts")
        let padding = length - ids.count
        return (
            ids + repeatElement(padID, count: padding), labels + repeatElement(Self.ignoredLabel, count: padding),
            Array(repeating: 1, count: ids.count) + repeatElement(0, count: padding)
        )
    }

    /// The decoded text with each trained run wrapped in `[[…]]`, for test failures and `--inspect`.
    public func marked(with tokenizer: Tokenizer) -> String {
        var text = ""
        var start = 0
        while start < ids.count {
            let trained = labels[start] != Self.ignoredLabel
            var end = start
            while end < ids.count, (labels[end] != Self.ignoredLabel) == trained { end += 1 }
            let piece = tokenizer.decode(Array(ids[start..<end]))
            text += trained ? "[[\(piece)]]" : piece
            start = end
        }
        return text
    }
}
