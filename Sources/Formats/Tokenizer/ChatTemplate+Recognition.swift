import Foundation

extension ChatTemplate {
    /// The native template whose rendering the Jinja `source` of a `tokenizer_config.json` is,
    /// known by its exact text: the templates gputrain writes (`TokenizerConfigWriter`), and the
    /// released ChatML and Llama 3 templates it renders (`releasedTemplates`). Anything else is an
    /// error naming the file: a template that merely contains another's markers may render other
    /// text, and training on the wrong text would be silent.
    public init(recognizing source: String, file: String = "chat_template") throws {
        if let written = [ChatTemplate.chatML, .llama3].first(where: { TokenizerConfigWriter.jinjaSource($0) == source }
        ) {
            self = written
            return
        }
        if let released = Self.releasedTemplates[Checksum.of(text: source)] {
            self = released
            return
        }
        if source.contains("<think>") || source.contains("reasoning_content") {
            throw FormatError(
                file: file,
                "the chat template strips reasoning from earlier turns, which gputrain does not render; "
                    + "choose a template by name (data.template: chatml, llama3 or llama3.1)")
        }
        throw FormatError(
            file: file,
            "the chat template is not one gputrain renders exactly (its own ChatML and Llama 3, and the released "
                + "ChatML, Qwen2.5, Llama 3 and Llama 3.1 templates); choose one by name (data.template: chatml, "
                + "llama3 or llama3.1) to train with it instead")
    }

    /// Released templates gputrain renders, by the checksum (`Checksum.of(text:)`) of their exact
    /// Jinja source (as in the models' `tokenizer_config.json`; the sources are in the test
    /// fixture `chat-template-cases.json`, whose cases check the rendering against transformers).
    static let releasedTemplates: [String: ChatTemplate] = [
        // Plain ChatML.
        "a41d6bae9b9141bc": .chatML,
        // Qwen2.5-Instruct: ChatML with its default system prompt.
        "4f486a73df2f30b4": ChatTemplate(
            style: .chatML, defaultSystemPrompt: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."),
        // Meta-Llama-3-Instruct.
        "0e60067a5537498e": .llama3,
        // Llama 3.1-Instruct, with its knowledge-cutoff header.
        "fb52d6392c2d4058": ChatTemplate(style: .llama3, knowledgeDates: KnowledgeDates()),
    ]

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
}
