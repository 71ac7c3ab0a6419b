import Foundation

/// Writes a `tokenizer_config.json` for a model trained here: the chat template as the Jinja
/// source transformers renders (equivalent to `ChatTemplate`'s native rendering, and recognised
/// by `ChatTemplate(recognizing:)` when the folder is read back), with the end-of-turn token as
/// `eos_token` so generation stops where training taught it to.
public enum TokenizerConfigWriter {
    /// The Jinja source of `template`'s style.
    public static func jinjaSource(_ template: ChatTemplate) -> String {
        switch template.style {
        case .chatML:
            return
                "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
                + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
        case .llama3:
            return
                "{{ '<|begin_of_text|>' }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
                + " + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
                + "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
        }
    }

    /// Writes the config for `tokenizer` with `template` to `url` (atomically).
    public static func write(template: ChatTemplate, tokenizer: Tokenizer, to url: URL) throws {
        var object: JSONObject = [
            "tokenizer_class": .string("PreTrainedTokenizerFast"),
            "chat_template": .string(jinjaSource(template)),
            "eos_token": .string(template.endOfTurn),
            "clean_up_tokenization_spaces": .bool(false),
            "model_max_length": .int(1_000_000),
        ]
        if tokenizer.id(of: "<|pad|>") != nil { object["pad_token"] = .string("<|pad|>") }
        try AtomicFile.write(JSONValue.object(object).serializedData(JSONLayout(indent: 2, sortKeys: true)), to: url)
    }
}
