import Foundation

extension ChatTemplate {
    /// The native template equivalent to the Jinja `source` of a `tokenizer_config.json`, when it is
    /// ChatML (with or without a default system prompt) or Llama 3 / 3.1 / 3.2. Anything else is an
    /// error naming what is supported: rendering another template approximately would silently
    /// train on the wrong text.
    public init(recognizing source: String, file: String = "chat_template") throws {
        if source.contains("<think>") || source.contains("reasoning_content") {
            throw FormatError(
                file: file,
                "the chat template strips reasoning from earlier turns, which gputrain does not render "
                    + "(supported: plain ChatML and Llama 3 templates); pass --chat-template chatml or llama3 to choose one"
            )
        }
        if source.contains("<|im_start|>"), source.contains("<|im_end|>") {
            self.init(style: .chatML, defaultSystemPrompt: Self.constantSystemPrompt(in: source))
        } else if source.contains("<|start_header_id|>"), source.contains("<|eot_id|>") {
            var dates: KnowledgeDates?
            if let cutoff = Self.firstCapture(#"Cutting Knowledge Date: ([^"'\\\n]+)"#, in: source) {
                dates = KnowledgeDates(
                    cutoff: cutoff, today: Self.firstCapture(#"date_string = "([^"]+)""#, in: source) ?? "26 Jul 2024")
            }
            self.init(style: .llama3, knowledgeDates: dates)
        } else {
            throw FormatError(
                file: file,
                "the chat template is neither ChatML (<|im_start|>…<|im_end|>) nor Llama 3 "
                    + "(<|start_header_id|>…<|eot_id|>), the templates gputrain renders; choose one by name (chatml, llama3)"
            )
        }
    }

    /// The template of the tokenizer in `folder`: `chat_template.jinja` when present (newer
    /// transformers prefer it), else `tokenizer_config.json`'s `chat_template` (a string, or a list
    /// of named templates of which `default` is used). `nil` when the folder has neither.
    public static func load(fromFolder folder: URL) throws -> ChatTemplate? {
        let sidecar = folder.appendingPathComponent("chat_template.jinja")
        if let data = FileManager.default.contents(atPath: sidecar.path) {
            return try ChatTemplate(recognizing: String(decoding: data, as: UTF8.self), file: sidecar.path)
        }
        let config = folder.appendingPathComponent("tokenizer_config.json")
        guard FileManager.default.fileExists(atPath: config.path) else { return nil }
        let fields = try JSONFields(document: try JSONValue.read(contentsOf: config), file: config.path)
        guard let value = fields.value("chat_template") else { return nil }
        if let source = value.stringValue { return try ChatTemplate(recognizing: source, file: config.path) }
        let named = (value.arrayValue ?? []).compactMap { $0.objectValue }
        guard let entry = named.first(where: { $0["name"]?.stringValue == "default" }) ?? named.first,
            let source = entry["template"]?.stringValue
        else {
            throw fields.error("chat_template", "should be a string or a list of {\"name\", \"template\"} objects")
        }
        return try ChatTemplate(recognizing: source, file: config.path)
    }

    /// A system prompt written as constant text right after `<|im_start|>system` (Qwen2.5 and
    /// SmolLM2 insert one when the conversation has none).
    private static func constantSystemPrompt(in source: String) -> String? {
        // In the Jinja source the newline is usually the two characters "\n" inside a string literal.
        firstCapture(#"<\|im_start\|>system(?:\\n|\n)([^'"{}<\\]+)<\|im_end\|>"#, in: source)
    }

    private static func firstCapture(_ pattern: String, in text: String) -> String? {
        guard let expression = try? NSRegularExpression(pattern: pattern),
            let match = expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
            let range = Range(match.range(at: 1), in: text)
        else { return nil }
        return String(text[range])
    }
}
