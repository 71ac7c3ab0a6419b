/// Who wrote a chat message.
public enum ChatRole: String, Codable, Sendable, CaseIterable {
    case system
    case user
    case assistant
}

/// One turn of a conversation, as in Hugging Face's `messages` lists.
public struct ChatMessage: Codable, Equatable, Hashable, Sendable {
    public var role: ChatRole
    public var content: String

    /// A message from `role` saying `content`.
    public init(_ role: ChatRole, _ content: String) {
        self.role = role
        self.content = content
    }

    /// A system message.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(.system, content) }
    /// A user message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(.user, content) }
    /// An assistant message.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(.assistant, content) }
}
