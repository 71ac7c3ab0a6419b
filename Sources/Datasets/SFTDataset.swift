import Formats
import Foundation

/// One supervised fine-tuning conversation: the assistant turns from `trainedFrom` on are trained.
public struct SFTConversation: Equatable, Sendable {
    public var messages: [ChatMessage]
    /// Index of the first message whose assistant turns are trained (0 for a `messages` line, the
    /// prompt's length for a prompt–completion line, so the prompt is never trained).
    public var trainedFrom: Int

    public init(messages: [ChatMessage], trainedFrom: Int = 0) {
        self.messages = messages
        self.trainedFrom = trainedFrom
    }
}

/// Reads SFT data: JSONL lines `{"messages": [{"role", "content"}, …]}` (conversational) or
/// `{"prompt", "completion"}` (each a string or a message list; a string prompt is a user
/// message and a string completion an assistant message).
public enum SFTDataset {
    static let shape =
        #"{"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]} or {"prompt": "...", "completion": "..."}"#

    /// The conversations of `url`; a malformed line is an error naming the file and line.
    public static func read(_ url: URL) throws -> [SFTConversation] {
        try ChatJSONL.lines(of: url, shape: shape).map(conversation)
    }

    static func conversation(_ line: ChatJSONLine) throws -> SFTConversation {
        if let messages = try line.messages("messages", stringRole: .user) {
            guard messages.contains(where: { $0.role == .assistant }) else {
                throw line.error("the conversation has no assistant turn, so nothing would be trained")
            }
            return SFTConversation(messages: messages)
        }
        guard line.value("prompt") != nil || line.value("completion") != nil else {
            throw line.error("expected \"messages\", or \"prompt\" and \"completion\"; a line looks like \(shape)")
        }
        let prompt = try line.requiredMessages(
            "prompt", stringRole: .user, expected: "the prompt (a string or a message list)")
        let completion = try line.requiredMessages(
            "completion", stringRole: .assistant, expected: "the completion (a string or a list of assistant messages)")
        try line.requireAssistantOnly(completion, "completion")
        return SFTConversation(messages: prompt + completion, trainedFrom: prompt.count)
    }
}
