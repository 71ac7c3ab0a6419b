import Formats
import Models

/// One line of `gputrain generate --data`'s output (docs/formats.md §4.7): TRL's prompt-completion
/// form, the prompt as the input gave it and the completion in the same shape (a string after a
/// string, an assistant message list after a message list), with where it sits and how it ended.
public struct GeneratedAnswer: Equatable, Sendable {
    /// Why an answer ended, as the output names it.
    public enum FinishReason: String, Sendable {
        /// At a stop token (end of sequence or end of turn), which the completion leaves out.
        case stop
        /// At `--max-tokens` or the end of the model's context.
        case length

        public init(_ reason: StopReason) {
            self = reason == .endOfSequence ? .stop : .length
        }
    }

    /// The prompt's place in the input (0-based, blank lines not counted).
    public var index: Int
    /// Which of the prompt's answers this is (0 ..< `--n`).
    public var sample: Int
    /// The input's `prompt` value, unchanged.
    public var prompt: JSONValue
    /// The generated text, special tokens left out.
    public var text: String
    /// New tokens generated, the stop token included.
    public var tokens: Int
    public var finishReason: FinishReason

    public init(index: Int, sample: Int, prompt: JSONValue, text: String, tokens: Int, finishReason: FinishReason) {
        self.index = index
        self.sample = sample
        self.prompt = prompt
        self.text = text
        self.tokens = tokens
        self.finishReason = finishReason
    }

    /// The completion as written: `[{"role": "assistant", "content": text}]` after a message-list
    /// prompt, else the text.
    public var completion: JSONValue {
        guard prompt.arrayValue != nil else { return .string(text) }
        return [.object(["role": "assistant", "content": .string(text)])]
    }

    /// The line's object, keys in the documented order.
    public var json: JSONValue {
        .object([
            "index": .int(index), "sample": .int(sample), "prompt": prompt, "completion": completion,
            "tokens": .int(tokens), "finish_reason": .string(finishReason.rawValue),
        ])
    }

    /// The line's text (compact JSON, without the newline).
    public var line: String { json.serialized() }
}
