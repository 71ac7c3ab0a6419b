import Formats
import Foundation

/// One preference pair: two completions of the same prompt, the first preferred.
public struct PreferencePair: Equatable, Sendable {
    public var prompt: [ChatMessage]
    public var chosen: [ChatMessage]
    public var rejected: [ChatMessage]
    /// How the rejected completion is worse, when the data says (`rejected_kind`).
    public var rejectedKind: String?

    public init(prompt: [ChatMessage], chosen: [ChatMessage], rejected: [ChatMessage], rejectedKind: String? = nil) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.rejectedKind = rejectedKind
    }
}

/// Reads preference data: JSONL lines `{"prompt", "chosen", "rejected"}`, each a string or a
/// message list (a string prompt is a user message; string completions are assistant messages),
/// with an optional `rejected_kind` string.
public enum PreferenceDataset {
    static let shape = #"{"prompt": "...", "chosen": "...", "rejected": "..."} (strings or message lists)"#

    /// The pairs of `url`; a malformed line is an error naming the file and line.
    public static func read(_ url: URL) throws -> [PreferencePair] {
        try ChatJSONL.lines(of: url, shape: shape).map { line in
            let prompt = try line.requiredMessages(
                "prompt", stringRole: .user, expected: "the prompt; a line looks like \(shape)")
            guard prompt.last?.role != .assistant else {
                throw line.error("the prompt ends with an assistant turn; it should end where the completions begin")
            }
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
                prompt: prompt, chosen: completions[0], rejected: completions[1], rejectedKind: kind?.stringValue)
        }
    }
}
