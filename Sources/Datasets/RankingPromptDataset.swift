import Formats
import Foundation

/// One prompt whose answers a person ranks (`gputrain label`): the prompt as the file writes it
/// (kept, so that the preference lines repeat it unchanged), the same prompt as messages, and
/// the answers to rank when the line gives them.
public struct RankingPrompt: Equatable, Sendable {
    /// The line of the prompts file, for messages.
    public var line: Int
    /// The `prompt` value as written: a string or a message list.
    public var prompt: JSONValue
    /// The prompt as messages (a string is one user message).
    public var messages: [ChatMessage]
    /// The line's `answers`, when it has them (at least two, none empty).
    public var answers: [String]?

    public init(line: Int, prompt: JSONValue, messages: [ChatMessage], answers: [String]?) {
        self.line = line
        self.prompt = prompt
        self.messages = messages
        self.answers = answers
    }

    /// Whether the prompt is a message list, so its answers are written as assistant messages
    /// (TRL's conversational format).
    public var isConversational: Bool { prompt.arrayValue != nil }
}

/// Reads the prompts of `gputrain label`: JSONL lines `{"prompt": …, "answers": […]}` where the
/// prompt is a string (a user message) or a message list that does not end with an assistant
/// turn, and `answers`, optional, lists at least two non-empty strings.
public enum RankingPromptDataset {
    static let shape =
        #"{"prompt": "..." or [{"role": "user", "content": "..."}], "answers": ["...", "..."]} ("answers" optional)"#

    /// The prompts of `url`, in file order; a missing file, an empty one or a malformed line is an
    /// error naming the file, the line, the value and what to write instead.
    public static func read(_ url: URL) throws -> [RankingPrompt] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue else {
            throw DatasetError.file(url.path, "no such file; give a JSONL file with one line per prompt, like \(shape)")
        }
        let prompts = try ChatJSONL.lines(of: url, shape: shape).map(prompt)
        guard !prompts.isEmpty else {
            throw DatasetError.file(url.path, "holds no prompts; write one line per prompt, like \(shape)")
        }
        return prompts
    }

    private static func prompt(_ line: ChatJSONLine) throws -> RankingPrompt {
        guard let value = line.value("prompt") else {
            throw line.error("missing \"prompt\"; a line looks like \(shape)")
        }
        let messages = try line.requiredMessages("prompt", stringRole: .user, expected: "the prompt to answer")
        guard messages.contains(where: { !$0.content.allSatisfy(\.isWhitespace) }) else {
            throw line.error("the prompt is empty (\(excerpt(value))); write the question the answers reply to")
        }
        guard messages.last?.role != .assistant else {
            throw line.error(
                "the prompt ends with an assistant turn (\(excerpt(value))); it should end where the answers begin")
        }
        return RankingPrompt(line: line.line, prompt: value, messages: messages, answers: try answers(line))
    }

    private static func answers(_ line: ChatJSONLine) throws -> [String]? {
        guard let value = line.value("answers") else { return nil }
        let fix =
            "\"answers\" must be a list of at least 2 non-empty strings (or left out, to sample them with --model)"
        guard let list = value.arrayValue else {
            throw line.error("\"answers\" is \(value.kindName) (\(excerpt(value))); \(fix)")
        }
        var answers: [String] = []
        for (index, item) in list.enumerated() {
            guard let text = item.stringValue else {
                throw line.error("\"answers\"[\(index)] is \(item.kindName) (\(excerpt(item))); \(fix)")
            }
            guard !text.allSatisfy(\.isWhitespace) else {
                throw line.error("\"answers\"[\(index)] is empty (\(excerpt(item))); \(fix)")
            }
            answers.append(text)
        }
        guard answers.count >= 2 else {
            throw line.error(
                "\"answers\" has \(answers.count) answer\(answers.count == 1 ? "" : "s") (\(excerpt(value))); "
                    + "ranking needs at least 2: \(fix)")
        }
        return answers
    }

    /// `value` as JSON, cut to a readable length, for messages.
    static func excerpt(_ value: JSONValue) -> String {
        let text = value.serialized()
        return text.count <= 80 ? text : String(text.prefix(77)) + "..."
    }
}
