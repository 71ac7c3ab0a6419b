import Formats
import Foundation

/// One prompt to generate answers for (`gputrain generate --data`): its text or conversation,
/// the `prompt` value exactly as the file holds it (the output repeats it), and where it was read.
public struct GenerationPrompt: Equatable, Sendable {
    /// What the model continues.
    public enum Content: Equatable, Sendable {
        /// A string: raw text, or a user message when the command renders strings as chats.
        case text(String)
        /// A list of `{"role", "content"}` messages, always rendered with the chat template.
        case messages([ChatMessage])
    }

    public var content: Content
    /// The line's `prompt` value as read (key order and numbers kept).
    public var original: JSONValue
    public var file: String
    public var line: Int

    public init(content: Content, original: JSONValue, file: String, line: Int) {
        self.content = content
        self.original = original
        self.file = file
        self.line = line
    }

    /// An error about this prompt's line.
    public func error(_ message: String) -> DatasetError { .line(file, line, message) }
}

/// Reads the prompts of `gputrain generate --data`: JSONL lines `{"prompt": "..."}` or
/// `{"prompt": [{"role": ..., "content": ...}, ...]}`; other keys are ignored, blank lines skipped.
public enum GenerationPromptDataset {
    static let shape = #"{"prompt": "..."} or {"prompt": [{"role": "user", "content": "..."}]}"#

    /// The prompts of `url` in file order; a malformed line, a missing prompt or an empty one
    /// (an empty string or list) is an error naming the file and line.
    public static func read(_ url: URL) throws -> [GenerationPrompt] {
        let prompts = try ChatJSONL.lines(of: url, shape: shape).map { line in
            let expected = "a non-empty prompt; a line looks like \(shape)"
            guard let original = line.value("prompt") else {
                throw line.error("missing \"prompt\"; expected \(expected)")
            }
            if let text = original.stringValue {
                guard !text.isEmpty else { throw line.error("\"prompt\" is an empty string; expected \(expected)") }
                return GenerationPrompt(content: .text(text), original: original, file: line.file, line: line.line)
            }
            let messages = try line.requiredMessages("prompt", stringRole: .user, expected: expected)
            return GenerationPrompt(
                content: .messages(messages), original: original, file: line.file, line: line.line)
        }
        guard !prompts.isEmpty else {
            throw DatasetError.file(url.path, "holds no prompts; each line must look like \(shape)")
        }
        return prompts
    }
}
