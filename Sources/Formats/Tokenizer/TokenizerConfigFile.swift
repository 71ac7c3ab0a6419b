import Foundation

/// What a model folder's `tokenizer_config.json` (and `chat_template.jinja`) say about special
/// tokens and chat templates (docs/formats.md §2.10, §4.1), as written: token strings, not ids, and the
/// templates' Jinja source, not a rendering of them.
public struct TokenizerConfigFile: Equatable, Sendable {
    /// A chat template's Jinja source and its name (`default` for the main one).
    public struct NamedTemplate: Equatable, Sendable {
        public var name: String
        public var source: String
    }

    public var bosToken: String?
    public var eosToken: String?
    public var unknownToken: String?
    public var padToken: String?
    /// The templates, the default one first; empty when the folder has none.
    public var chatTemplates: [NamedTemplate] = []

    /// Nothing configured.
    public init() {}

    /// The main chat template's source, if any.
    public var chatTemplate: String? { chatTemplates.first?.source }

    /// Reads `folder`'s files; a folder without them gives an empty configuration. The
    /// `chat_template.jinja` sidecar wins over the config's `chat_template` (docs/formats.md §8.9), which may
    /// be a string or a list of `{name, template}` objects.
    public static func load(fromFolder folder: URL) throws -> TokenizerConfigFile {
        var result = TokenizerConfigFile()
        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configURL.path) {
            let fields = try JSONFields(document: try JSONValue.read(contentsOf: configURL), file: configURL.path)
            result.bosToken = try tokenContent(fields, "bos_token")
            result.eosToken = try tokenContent(fields, "eos_token")
            result.unknownToken = try tokenContent(fields, "unk_token")
            result.padToken = try tokenContent(fields, "pad_token")
            result.chatTemplates = try templates(fields)
        }
        let sidecar = folder.appendingPathComponent("chat_template.jinja")
        if let data = FileManager.default.contents(atPath: sidecar.path) {
            let source = NamedTemplate(name: "default", source: String(decoding: data, as: UTF8.self))
            result.chatTemplates = [source] + result.chatTemplates.filter { $0.name != "default" }
        }
        return result
    }

    /// A special token given as a string or as an AddedToken object `{"content": …}`.
    private static func tokenContent(_ fields: JSONFields, _ key: String) throws -> String? {
        guard let value = fields.value(key) else { return nil }
        if let text = value.stringValue { return text }
        if let content = value.objectValue?["content"]?.stringValue { return content }
        throw fields.error(key, "should be a token string or an object with \"content\", found \(value.kindName)")
    }

    private static func templates(_ fields: JSONFields) throws -> [NamedTemplate] {
        guard let value = fields.value("chat_template") else { return [] }
        if let source = value.stringValue { return [NamedTemplate(name: "default", source: source)] }
        guard let list = value.arrayValue else {
            throw fields.error(
                "chat_template",
                "should be a string or a list of {\"name\", \"template\"} objects, found \(value.kindName)")
        }
        let named = try list.enumerated().map { index, entry -> NamedTemplate in
            guard let name = entry.objectValue?["name"]?.stringValue,
                let source = entry.objectValue?["template"]?.stringValue
            else {
                throw fields.error(
                    "chat_template[\(index)]", "should be an object with string \"name\" and \"template\"")
            }
            return NamedTemplate(name: name, source: source)
        }
        // The default template first, the others in file order.
        return named.filter { $0.name == "default" } + named.filter { $0.name != "default" }
    }
}
