import Formats
import Foundation

/// One prompt for reinforcement learning: the conversation so far, and the line's other fields
/// (reference answers and the like, for the reward function).
public struct RLPrompt: Equatable, Sendable {
    public var messages: [ChatMessage]
    /// Every field of the line except `prompt` / `messages`.
    public var fields: JSONObject

    public init(messages: [ChatMessage], fields: JSONObject = JSONObject()) {
        self.messages = messages
        self.fields = fields
    }
}

/// Reads RL prompts: JSONL lines `{"prompt": …}` (a string is a user message, or a message list)
/// or `{"messages": […]}`; the prompt must not end with an assistant turn.
public enum RLPromptDataset {
    static let shape = #"{"prompt": "..."} or {"prompt": [{"role": "user", "content": "..."}]}"#

    /// The prompts of `url`; a malformed line is an error naming the file and line.
    public static func read(_ url: URL) throws -> [RLPrompt] {
        try ChatJSONL.lines(of: url, shape: shape).map { line in
            let key = line.value("prompt") == nil && line.value("messages") != nil ? "messages" : "prompt"
            let messages = try line.requiredMessages(
                key, stringRole: .user, expected: "the prompt; a line looks like \(shape)")
            guard messages.last?.role != .assistant else {
                throw line.error(
                    "the prompt ends with an assistant turn; it should end where the model's answer begins")
            }
            var fields = line.object
            fields["prompt"] = nil
            fields["messages"] = nil
            return RLPrompt(messages: messages, fields: fields)
        }
    }
}
