import Formats
import Foundation

/// One preference pair: two completions of the same prompt, the first preferred.
public struct PreferencePair: Equatable, Sendable {
    public var prompt: [ChatMessage]
    public var chosen: [ChatMessage]
    public var rejected: [ChatMessage]
    /// How the rejected completion is worse, when the data says (`rejected_kind`).
    public var rejectedKind: String?
    /// The probability that `chosen` is the better completion (`chosen_probability`, a soft
    /// label from a judge's log-probs); nil means 1, a hard label.
    public var chosenProbability: Float?

    public init(
        prompt: [ChatMessage], chosen: [ChatMessage], rejected: [ChatMessage], rejectedKind: String? = nil,
        chosenProbability: Float? = nil
    ) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.rejectedKind = rejectedKind
        self.chosenProbability = chosenProbability
    }
}

/// Reads preference data: JSONL lines `{"prompt", "chosen", "rejected"}`, each a string or a
/// message list (a string prompt is a user message; string completions are assistant messages),
/// with an optional `rejected_kind` string and an optional soft label `chosen_probability` in [0, 1].
public enum PreferenceDataset {
    static let shape = #"{"prompt": "...", "chosen": "...", "rejected": "..."} (strings or message lists)"#

    /// The pairs of `url`; a malformed line is an error naming the file and line.
    public static func read(_ url: URL) throws -> [PreferencePair] {
        try ChatJSONL.lines(of: url, shape: shape).map { line in
            let prompt = try line.requiredPrompt(shape: shape, endingWhere: "the completions begin")
            var completions: [[ChatMessage]] = []
            for key in ["chosen", "rejected"] {
                let completion = try line.requiredMessages(
                    key, stringRole: .assistant, expected: "the \(key) completion; a line looks like \(shape)")
                try line.requireAssistantOnly(completion, key)
                completions.append(completion)
            }
            let kind = line.value("rejected_kind")
            if let kind, kind.stringValue == nil {
                throw line.error("\"rejected_kind\" should be a string, found \(kind.kindName)")
            }
            return PreferencePair(
                prompt: prompt, chosen: completions[0], rejected: completions[1], rejectedKind: kind?.stringValue,
                chosenProbability: try chosenProbability(of: line))
        }
    }

    /// The line's `chosen_probability`, when it has one: a number in [0, 1].
    static func chosenProbability(of line: ChatJSONLine) throws -> Float? {
        guard let value = line.value("chosen_probability"), !value.isNull else { return nil }
        guard let number = value.doubleValue, (0...1).contains(number) else {
            throw line.error(
                "\"chosen_probability\" should be a number in [0, 1] (the probability that \"chosen\" is the "
                    + "better completion), found \(value.doubleValue.map { String($0) } ?? value.kindName)")
        }
        return Float(number)
    }
}
