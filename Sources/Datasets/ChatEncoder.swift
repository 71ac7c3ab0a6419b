import Formats

/// Turns conversations into `ChatExample`s: renders with a `ChatTemplate`, tokenizes the whole
/// text once without post-processor (the template has its own BOS), and maps the template's
/// assistant spans to tokens through the tokenizer's byte offsets. A token is trained when its
/// text overlaps a trained span (as transformers' `assistant_masks` does), so pieces are never
/// tokenized separately and BPE boundaries are those of the full text (docs/formats.md §4.5).
public struct ChatEncoder {
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public var scope: ChatLossScope

    /// An encoder; the tokenizer must have the template's special tokens as added tokens, or they
    /// would be split into ordinary pieces and the model would never see one end-of-turn token.
    public init(tokenizer: Tokenizer, template: ChatTemplate, scope: ChatLossScope = .assistantOnly) throws {
        let known = Set(tokenizer.addedTokens.map(\.content))
        let missing = template.specialTokens.filter { !known.contains($0) }
        guard missing.isEmpty else {
            throw DatasetError.file(
                "tokenizer",
                "lacks the \(template.style.rawValue) special tokens \(missing.joined(separator: ", ")); "
                    + "add them as special tokens or choose the template the tokenizer was made for")
        }
        self.tokenizer = tokenizer
        self.template = template
        self.scope = scope
    }

    /// The id of the template's end-of-turn token (the stop token for generation).
    public var endOfTurnID: Int { tokenizer.id(of: template.endOfTurn)! }

    /// Where a chat model's answer ends: the end-of-turn token, or any of the model's
    /// end-of-sequence ids (`config`'s `eos_token_id`).
    public func stopTokens(for config: ModelConfig) -> Set<Int32> {
        Set(([endOfTurnID] + config.eosTokenIDs).map(Int32.init))
    }

    /// `messages` tokenized; assistant turns at index `trainedFrom` or later are trained (with
    /// `.allTokens`, everything is).
    public func encode(_ messages: [ChatMessage], trainedFrom: Int = 0) throws -> ChatExample {
        let rendered = template.render(messages)
        let assistantIndices = messages.indices.filter { messages[$0].role == .assistant }
        let spans = zip(assistantIndices, rendered.assistantSpans).filter { $0.0 >= trainedFrom }.map(\.1)
        let (ids, offsets) = try tokenizer.encodeWithOffsets(rendered.text)
        var labels = [Int](repeating: ChatExample.ignoredLabel, count: ids.count)
        var promptLength = ids.count
        for (index, range) in offsets.enumerated() where spans.contains(where: { $0.overlaps(range) }) {
            labels[index] = ids[index]
            promptLength = min(promptLength, index)
        }
        if scope == .allTokens { labels = ids }
        return ChatExample(ids: ids, labels: labels, promptLength: promptLength)
    }

    /// An SFT conversation tokenized.
    public func encode(_ conversation: SFTConversation) throws -> ChatExample {
        try encode(conversation.messages, trainedFrom: conversation.trainedFrom)
    }

    /// Both completions of a pair, each rendered after the prompt; only completion tokens are trained.
    public func encode(_ pair: PreferencePair) throws -> (chosen: ChatExample, rejected: ChatExample) {
        (
            try encode(pair.prompt + pair.chosen, trainedFrom: pair.prompt.count),
            try encode(pair.prompt + pair.rejected, trainedFrom: pair.prompt.count)
        )
    }

    /// The ids of a prompt that ends with an open assistant turn, for generation.
    public func encodePrompt(_ messages: [ChatMessage]) -> [Int] {
        tokenizer.encode(template.render(messages, addGenerationPrompt: true).text, addSpecialTokens: false)
    }
}
