import Formats
import Foundation

/// One completion of a prompt, labelled desirable or undesirable: KTO's data.
public struct LabelledCompletion: Equatable, Sendable {
    public var prompt: [ChatMessage]
    public var completion: [ChatMessage]
    /// Whether the completion is one to learn from (true) or to move away from (false).
    public var desirable: Bool

    public init(prompt: [ChatMessage], completion: [ChatMessage], desirable: Bool) {
        self.prompt = prompt
        self.completion = completion
        self.desirable = desirable
    }
}

/// Reads TRL's unpaired preference data: JSONL lines `{"prompt", "completion", "label"}`, the
/// prompt and completion each a string or a message list (a string prompt is a user message, a
/// string completion an assistant message), the label a boolean (true: desirable).
public enum UnpairedPreferenceDataset {
    static let shape = #"{"prompt": "...", "completion": "...", "label": true} (strings or message lists)"#

    /// The completions of `url`; a malformed line is an error naming the file and line.
    public static func read(_ url: URL) throws -> [LabelledCompletion] {
        try ChatJSONL.lines(of: url, shape: shape).map { line in
            let prompt = try line.requiredPrompt(shape: shape, endingWhere: "the completion begins")
            let completion = try line.requiredMessages(
                "completion", stringRole: .assistant, expected: "the completion; a line looks like \(shape)")
            try line.requireAssistantOnly(completion, "completion")
            guard let label = line.value("label") else {
                throw line.error("missing \"label\"; expected true (desirable) or false (undesirable)")
            }
            guard let desirable = label.boolValue else {
                throw line.error(
                    "\"label\" should be true (desirable) or false (undesirable), found \(label.kindName)")
            }
            return LabelledCompletion(prompt: prompt, completion: completion, desirable: desirable)
        }
    }
}
