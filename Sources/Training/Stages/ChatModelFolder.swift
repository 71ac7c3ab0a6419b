import Core
import Datasets
import Foundation
import Formats
import Models

/// A model folder a post-training stage starts from, with what talking to it takes: its
/// tokenizer, its chat template and the encoder that renders chats into trained tokens.
public struct ChatModelFolder {
    public let url: URL
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public let encoder: ChatEncoder

    /// Opens `url` (`model.init_from` or `--model`). `templateName` is "auto" (the folder's
    /// template, ChatML when it names none), "chatml" or "llama3".
    public init(url: URL, templateName: String = "auto", field: String = "model.init_from") throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw ConfigError(source: "config", line: nil, message: "'\(field)' is '\(url.path)', which is not a model folder; "
                + "give a folder with config.json, model.safetensors and tokenizer.json (a run's final/)")
        }
        self.url = url
        tokenizer = try Tokenizer.load(fromPath: url.path)
        template = templateName == "auto" ? try ChatTemplate.load(fromFolder: url) ?? .chatML : try ChatTemplate.named(templateName)
        encoder = try ChatEncoder(tokenizer: tokenizer, template: template)
    }

    /// The id padding fills with: the model's `pad_token_id`, else `<|pad|>`, else the
    /// end-of-turn token (padding is told apart by length, never by id, so sharing is safe).
    public func padID(config: ModelConfig) -> Int {
        config.padTokenID ?? tokenizer.id(of: "<|pad|>") ?? encoder.endOfTurnID
    }

    /// The causal LM in the folder on `device`.
    public func loadModel(device: Device, trainable: Bool = true) throws -> LanguageModel {
        try ModelFolder.load(url, device: device, trainable: trainable).model
    }

    /// Saves `model` into `folder` as a chat model: its config with the template's end-of-turn
    /// token among the end-of-sequence ids (so generation, here or in transformers, stops where
    /// fine-tuning taught it to), and the tokenizer files.
    public func saveChatModel(_ model: LanguageModel, to folder: URL) throws {
        var config = model.config
        if !config.eosTokenIDs.contains(encoder.endOfTurnID) { config.eosTokenIDs.append(encoder.endOfTurnID) }
        try ModelFolder.save(model.parameters, specs: ModelParameters.specs(for: config), config: config, to: folder)
        try writeTokenizerFiles(to: folder)
    }

    /// Throws unless `other` tokenizes text as this folder does (same vocabulary and merges):
    /// a reward model must read the policy's tokens.
    public func requireSameTokenizer(as other: ChatModelFolder) throws {
        let mine = try Data(contentsOf: url.appendingPathComponent("tokenizer.json"))
        let theirs = try Data(contentsOf: other.url.appendingPathComponent("tokenizer.json"))
        guard mine == theirs || (tokenizer.vocabularySize == other.tokenizer.vocabularySize
            && tokenizer.encode(Self.probeText) == other.tokenizer.encode(Self.probeText)) else {
            throw FormatError(file: other.url.appendingPathComponent("tokenizer.json").path,
                              "differs from the policy's tokenizer (\(url.appendingPathComponent("tokenizer.json").path)); "
                                  + "the reward model must be trained from the same base model as the policy")
        }
    }

    private static let probeText = "The quick brown fox jumps over the lazy dog. 12 + 7 = 19! <|im_start|>user\nWhere?<|im_end|>"

    /// Writes the tokenizer files next to a model saved in `folder`: `tokenizer.json` as it is,
    /// and `tokenizer_config.json` (copied, or written with the template's Jinja source and
    /// special tokens so transformers' `apply_chat_template` renders what was trained).
    public func writeTokenizerFiles(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json"] {
            let source = url.appendingPathComponent(name), target = folder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: source.path), source.standardizedFileURL != target.standardizedFileURL else { continue }
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: source, to: target)
        }
        let config = folder.appendingPathComponent("tokenizer_config.json")
        if !FileManager.default.fileExists(atPath: config.path) {
            try TokenizerConfigWriter.write(template: template, tokenizer: tokenizer, to: config)
        }
    }
}
