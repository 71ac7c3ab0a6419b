import Formats
import Foundation

/// One line of a chat JSONL file, with what the readers need to name it in errors.
struct ChatJSONLine {
    let file: String
    let line: Int
    let object: JSONObject

    /// An error about this line.
    func error(_ message: String) -> DatasetError { .line(file, line, message) }

    /// The value of `key`, `nil` when missing or `null`.
    func value(_ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    /// `key` as messages: a string is one message from `role`; a list holds `{"role", "content"}` objects.
    func messages(_ key: String, stringRole role: ChatRole) throws -> [ChatMessage]? {
        guard let value = value(key) else { return nil }
        if let text = value.stringValue { return [ChatMessage(role, text)] }
        guard let list = value.arrayValue else {
            throw error(
                "\"\(key)\" should be a string or a list of {\"role\", \"content\"} messages, found \(value.kindName)")
        }
        return try list.enumerated().map { index, item in try message(item, at: "\(key)[\(index)]") }
    }

    /// `key` as messages, which must be present.
    func requiredMessages(_ key: String, stringRole role: ChatRole, expected: String) throws -> [ChatMessage] {
        guard let messages = try messages(key, stringRole: role) else {
            throw error("missing \"\(key)\"; expected \(expected)")
        }
        guard !messages.isEmpty else { throw error("\"\(key)\" is empty; expected \(expected)") }
        return messages
    }

    private func message(_ value: JSONValue, at path: String) throws -> ChatMessage {
        guard let object = value.objectValue else {
            throw error("\(path) should be a {\"role\", \"content\"} object, found \(value.kindName)")
        }
        guard let roleName = object["role"]?.stringValue else {
            throw error("\(path) is missing the string field \"role\"")
        }
        guard let role = ChatRole(rawValue: roleName) else {
            throw error("\(path) has unknown role \"\(roleName)\" (expected system, user or assistant)")
        }
        guard let content = object["content"]?.stringValue else {
            throw error("\(path) is missing the string field \"content\"")
        }
        return ChatMessage(role, content)
    }

    /// The line's `prompt` as messages (a string is a user message), which must be present and
    /// must not end with an assistant turn: it ends where `rest` (e.g. "the completion begins").
    func requiredPrompt(shape: String, endingWhere rest: String) throws -> [ChatMessage] {
        let prompt = try requiredMessages(
            "prompt", stringRole: .user, expected: "the prompt; a line looks like \(shape)")
        guard prompt.last?.role != .assistant else {
            throw error("the prompt ends with an assistant turn; it should end where \(rest)")
        }
        return prompt
    }

    /// Checks that `messages` (the value of `key`) holds only assistant messages.
    func requireAssistantOnly(_ messages: [ChatMessage], _ key: String) throws {
        if let other = messages.firstIndex(where: { $0.role != .assistant }) {
            throw error(
                "\(key)[\(other)] has role \"\(messages[other].role.rawValue)\"; a completion holds assistant messages only"
            )
        }
    }
}

/// Reads JSONL files of chats: one JSON object per non-blank line.
enum ChatJSONL {
    /// The lines of `url` as objects; a line that is not a JSON object is an error naming the file,
    /// the line and `shape`, the expected form of a line.
    static func lines(of url: URL, shape: String) throws -> [ChatJSONLine] {
        var lines: [ChatJSONLine] = []
        for line in try TextLines.read(url) where !line.isBlank {
            let value: JSONValue
            do {
                value = try JSONValue.parse(Data(line.text.utf8), file: url.path)
            } catch let error as FormatError {
                throw DatasetError.line(
                    url.path, line.number, "not valid JSON (\(error.message)); each line must look like \(shape)")
            }
            guard let object = value.objectValue else {
                throw DatasetError.line(url.path, line.number, "not a JSON object; each line must look like \(shape)")
            }
            lines.append(ChatJSONLine(file: url.path, line: line.number, object: object))
        }
        return lines
    }
}
