import Core
import Datasets
import Formats
import Foundation
import Models
import Tensors

/// A model folder a post-training stage starts from, with what talking to it takes: its
/// tokenizer, its chat template and the encoder that renders chats into trained tokens.
public struct ChatModelFolder {
    public let url: URL
    /// Where the tokenizer files are: `url`, or an adapter's base folder when the adapter has none.
    public let tokenizerURL: URL
    public let tokenizer: Tokenizer
    public let template: ChatTemplate
    public let encoder: ChatEncoder

    /// Opens `url` (`model.init_from` or `--model`). `templateName` is "auto" (the folder's
    /// template, ChatML when it names none), "chatml" or "llama3".
    public init(url: URL, templateName: String = "auto", field: String = "model.init_from") throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw ConfigError(
                source: "config", line: nil,
                message: "'\(field)' is '\(url.path)', which is not a model folder; "
                    + "give a folder with config.json, model.safetensors and tokenizer.json (a run's final/)")
        }
        self.url = url
        tokenizerURL = try ModelFolder.tokenizerFolder(of: url)
        tokenizer = try Tokenizer.load(fromPath: tokenizerURL.path)
        // A token without an embedding row would be read past the embedding table.
        let config = try ModelFolder.config(of: url)
        guard tokenizer.vocabularySize <= config.vocabSize else {
            throw FormatError(
                file: tokenizerURL.appendingPathComponent("tokenizer.json").path,
                "has ids up to \(tokenizer.vocabularySize - 1), but the model's config.json has vocab_size "
                    + "\(config.vocabSize); use the tokenizer the model was trained with")
        }
        template =
            templateName == "auto"
            ? try ChatTemplate.load(fromFolder: tokenizerURL) ?? .chatML : try ChatTemplate.named(templateName)
        encoder = try ChatEncoder(tokenizer: tokenizer, template: template)
    }

    /// The id padding fills with: the model's `pad_token_id`, else `<|pad|>`, else the
    /// end-of-turn token (padding is told apart by length, never by id, so sharing is safe).
    public func padID(config: ModelConfig) -> Int {
        config.padTokenID ?? tokenizer.id(of: "<|pad|>") ?? encoder.endOfTurnID
    }

    /// The causal LM in the folder on `device` (with fresh LoRA adapters on frozen weights when
    /// `lora` has a rank).
    public func loadModel(device: Device, trainable: Bool = true, lora: LoRASettings = LoRASettings()) throws
        -> LanguageModel
    {
        try ModelFolder.load(url, device: device, trainable: trainable, lora: lora).model
    }

    /// The frozen reference for `policy`, which starts from this folder: with LoRA, the policy's
    /// own weights with the adapters off (no second copy); otherwise a frozen copy of the folder.
    public func referenceModel(for policy: LanguageModel, device: Device) throws -> LanguageModel {
        policy.adapters != nil ? try AdapterFreeModel(policy) : try loadModel(device: device, trainable: false)
    }

    /// Saves `model` into `folder` as a chat model: its config with the template's end-of-turn
    /// token among the end-of-sequence ids (so generation, here or in transformers, stops where
    /// fine-tuning taught it to), and the tokenizer files. A LoRA model saves its adapter.
    public func saveChatModel(_ model: LanguageModel, to folder: URL) throws {
        var config = model.config
        if !config.eosTokenIDs.contains(encoder.endOfTurnID) { config.eosTokenIDs.append(encoder.endOfTurnID) }
        try saveTrained(
            model.parameters, specs: ModelParameters.specs(for: config), config: config, adapters: model.adapters,
            taskType: "CAUSAL_LM", to: folder)
    }

    /// Writes a reward (or value) model folder: `model` in transformers' sequence-classification
    /// layout, with the pad id in `config.json` (transformers needs one to find the last token of
    /// padded rows), and this folder's tokenizer files.
    public func saveScalarHeadModel(_ model: ScalarHeadModel, to url: URL, padID: Int) throws {
        var config = model.config
        if config.padTokenID == nil { config.padTokenID = padID }
        try saveTrained(
            model.parameters, specs: ScalarHeadModel.specs(for: config), config: config,
            adapters: model.backbone.adapters, taskType: "SEQ_CLS", savedParameters: [ScalarHeadModel.headName], to: url
        )
    }

    /// Saves a model trained from this folder into `folder`, with the tokenizer files: in full
    /// (`config.json` + `model.safetensors`), or as a PEFT adapter when it has LoRA `adapters`
    /// (with `savedParameters` trained in full, like a reward model's `score.weight`). An
    /// adapter names this folder as its base; when this folder is itself an adapter, the merged
    /// model the run started from is written once beside `folder` (as `<folder>-base/`) and named instead.
    public func saveTrained(
        _ store: ParameterStore, specs: [ParameterSpec], config: ModelConfig, adapters: LoRAAdapters?,
        taskType: String, savedParameters: [String] = [], to folder: URL
    ) throws {
        if let adapters {
            var base = url
            if PEFTAdapter.isAdapter(url) {
                base = folder.deletingLastPathComponent().appendingPathComponent(folder.lastPathComponent + "-base")
                if !FileManager.default.fileExists(atPath: base.appendingPathComponent("config.json").path) {
                    try ModelFolder.save(store, specs: specs, config: config, to: base)
                    try writeTokenizerFiles(to: base)
                }
            }
            try PEFTAdapter.write(
                adapters, store: store, config: config, baseModel: base, taskType: taskType,
                savedParameters: savedParameters, to: folder)
        } else {
            try ModelFolder.save(store, specs: specs, config: config, to: folder)
        }
        try writeTokenizerFiles(to: folder)
    }

    /// Throws unless `other` tokenizes text as this folder does (same vocabulary and merges):
    /// a reward model must read the policy's tokens.
    public func requireSameTokenizer(as other: ChatModelFolder) throws {
        let mine = try Data(contentsOf: tokenizerURL.appendingPathComponent("tokenizer.json"))
        let theirs = try Data(contentsOf: other.tokenizerURL.appendingPathComponent("tokenizer.json"))
        guard
            mine == theirs
                || (tokenizer.vocabularySize == other.tokenizer.vocabularySize
                    && tokenizer.encode(Self.probeText) == other.tokenizer.encode(Self.probeText))
        else {
            throw FormatError(
                file: other.tokenizerURL.appendingPathComponent("tokenizer.json").path,
                "differs from the policy's tokenizer (\(tokenizerURL.appendingPathComponent("tokenizer.json").path)); "
                    + "the reward model must be trained from the same base model as the policy")
        }
    }

    private static let probeText =
        "The quick brown fox jumps over the lazy dog. 12 + 7 = 19! <|im_start|>user\nWhere?<|im_end|>"

    /// Writes the tokenizer files next to a model saved in `folder`: `tokenizer.json` as it is,
    /// and `tokenizer_config.json` (copied, or written with the template's Jinja source and
    /// special tokens so transformers' `apply_chat_template` renders what was trained).
    public func writeTokenizerFiles(to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json"] {
            let source = tokenizerURL.appendingPathComponent(name)
            let target = folder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: source.path),
                source.standardizedFileURL != target.standardizedFileURL
            else { continue }
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: source, to: target)
        }
        let config = folder.appendingPathComponent("tokenizer_config.json")
        if !FileManager.default.fileExists(atPath: config.path) {
            try TokenizerConfigWriter.write(template: template, tokenizer: tokenizer, to: config)
        }
    }
}
