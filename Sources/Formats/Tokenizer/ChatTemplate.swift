/// A chat template gputrain renders natively (docs/formats.md §4): ChatML, the default for models trained
/// here, and Llama 3. There is no general Jinja interpreter; `ChatTemplate(recognizing:)` maps a
/// shipped Jinja template onto one of these when it is one of them.
///
/// Rendering records, while it builds the text, the span of each assistant turn's trained part
/// (content + end-of-turn token), so loss masks never depend on searching the text for markers.
public struct ChatTemplate: Equatable, Sendable {
    /// The layout of the turns.
    public enum Style: String, Sendable, CaseIterable {
        /// `<|im_start|>{role}\n{content}<|im_end|>\n` per message; no BOS.
        case chatML = "chatml"
        /// `<|begin_of_text|>` once, then `<|start_header_id|>{role}<|end_header_id|>\n\n{content|trim}<|eot_id|>`.
        case llama3
    }

    /// The header Llama 3.1/3.2 templates always put in the system turn, before the user's system prompt.
    public struct KnowledgeDates: Equatable, Sendable {
        /// "December 2023".
        public var cutoff: String
        /// The template's default `date_string` ("26 Jul 2024"); fixed so rendering is reproducible.
        public var today: String

        public init(cutoff: String = "December 2023", today: String = "26 Jul 2024") {
            self.cutoff = cutoff
            self.today = today
        }
    }

    public var style: Style
    /// The system prompt the template inserts when the conversation has none (Qwen2.5, SmolLM2).
    public var defaultSystemPrompt: String?
    /// Llama 3.1/3.2 only: emit a system turn with these dates in every conversation.
    public var knowledgeDates: KnowledgeDates?

    /// A template of `style`.
    public init(style: Style, defaultSystemPrompt: String? = nil, knowledgeDates: KnowledgeDates? = nil) {
        self.style = style
        self.defaultSystemPrompt = defaultSystemPrompt
        self.knowledgeDates = knowledgeDates
    }

    /// Plain ChatML, the default for models trained by gputrain.
    public static let chatML = ChatTemplate(style: .chatML)
    /// Plain Llama 3 (the Llama-3-Instruct template, without the 3.1 date header).
    public static let llama3 = ChatTemplate(style: .llama3)

    /// The template called `name` ("chatml", "llama3", or "llama3.1" for the date header).
    public static func named(_ name: String) throws -> ChatTemplate {
        switch name.lowercased() {
        case "chatml": return .chatML
        case "llama3", "llama-3": return .llama3
        case "llama3.1", "llama-3.1", "llama3.2", "llama-3.2":
            return ChatTemplate(style: .llama3, knowledgeDates: KnowledgeDates())
        default:
            throw FormatError(file: "chat template", "unknown template '\(name)' (known: chatml, llama3, llama3.1)")
        }
    }

    /// The token that ends every turn; generation stops on it and it is trained after each answer.
    public var endOfTurn: String {
        switch style {
        case .chatML: return "<|im_end|>"
        case .llama3: return "<|eot_id|>"
        }
    }

    /// The special tokens the tokenizer must know for this template.
    public var specialTokens: [String] {
        switch style {
        case .chatML: return ["<|im_start|>", "<|im_end|>"]
        case .llama3: return ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
        }
    }

    /// The text that opens an assistant turn (what `addGenerationPrompt` appends).
    public var generationPrompt: String { header(.assistant) }

    /// Renders `messages`; with `addGenerationPrompt` the text ends with an open assistant turn.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = false) -> RenderedChat {
        var builder = ChatTextBuilder()
        var messages = messages
        if style == .llama3 { builder.append("<|begin_of_text|>") }
        if let knowledgeDates {
            // The 3.1 template pulls a leading system message into its own system turn.
            let system = messages.first?.role == .system ? messages.removeFirst().content : ""
            builder.append(
                header(.system)
                    + "Cutting Knowledge Date: \(knowledgeDates.cutoff)\nToday Date: \(knowledgeDates.today)\n\n"
                    + body(system) + endOfTurn)
        } else if let defaultSystemPrompt, messages.first?.role != .system {
            messages.insert(.system(defaultSystemPrompt), at: 0)
        }
        for message in messages {
            builder.append(header(message.role))
            if message.role == .assistant {
                builder.appendTrained(body(message.content) + endOfTurn)
            } else {
                builder.append(body(message.content) + endOfTurn)
            }
            builder.append(separator)
        }
        if addGenerationPrompt { builder.append(generationPrompt) }
        return builder.rendered
    }

    private func header(_ role: ChatRole) -> String {
        switch style {
        case .chatML: return "<|im_start|>\(role.rawValue)\n"
        case .llama3: return "<|start_header_id|>\(role.rawValue)<|end_header_id|>\n\n"
        }
    }

    /// A message's content as the template writes it (Llama 3 trims whitespace, as Jinja's `trim`).
    private func body(_ content: String) -> String {
        switch style {
        case .chatML: return content
        case .llama3: return content.trimmingJinjaWhitespace()
        }
    }

    /// Text after each turn's end-of-turn token.
    private var separator: String { style == .chatML ? "\n" : "" }
}

extension String {
    /// Python's `str.strip()` (Jinja's `trim`): leading and trailing Unicode whitespace removed.
    func trimmingJinjaWhitespace() -> String {
        let scalars = Array(unicodeScalars)
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars: scalars[first...last])
    }
}
