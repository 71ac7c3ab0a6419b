import Core
import Formats
import Foundation
import Models
import ReferenceDevice
import Tensors

/// A tiny chat model folder for stage tests: a byte-level BPE tokenizer trained here on a few
/// sentences (with the default special tokens, ChatML's among them), a seeded llama of hidden
/// size 32 and two layers, saved as a Hugging Face folder (`config.json`, `model.safetensors`,
/// `tokenizer.json`). With no `tokenizer_config.json` the stages read chats as ChatML.
enum TinyChatModel {
    /// Sentences the tokenizer learns its merges from: the words of the stage tests' chats.
    static let corpus = [
        "What is the colour of the sky? The sky is blue.", "Where does the fox live? The fox lives in the forest.",
        "Great question! Let me think about that for a moment. I hope this helps.",
        "The answer is good. The answer is bad. Answer in one word.", "What is 2 + 3? 2 + 3 equals 5.",
        "user assistant system", "Tell me about the river, the hill, the cat and the owl.",
    ]

    /// The tokenizer trained on `texts` with `vocabularySize` entries (different sizes give
    /// different tokenizers).
    static func tokenizer(vocabularySize: Int = 320, texts: [String] = corpus, minimumFrequency: Int = 2) throws
        -> Tokenizer
    {
        try Tokenizer.train(
            texts: Array(repeating: texts, count: 3).flatMap { $0 }, vocabSize: vocabularySize,
            minimumFrequency: minimumFrequency)
    }

    /// The configuration of the tiny model for `tokenizer`.
    static func config(for tokenizer: Tokenizer, maxPositions: Int = 96) -> ModelConfig {
        let endOfText = tokenizer.id(of: "<|endoftext|>")
        return ModelConfig(
            modelType: .llama, vocabSize: tokenizer.vocabularySize, hiddenSize: 32, layerCount: 2, headCount: 4,
            keyValueHeadCount: 2, intermediateSize: 64, maxPositions: maxPositions, tieWordEmbeddings: true,
            bosTokenID: endOfText, eosTokenIDs: endOfText.map { [$0] } ?? [])
    }

    /// Writes a seeded tiny model with its tokenizer (trained on `texts`) into `folder` and
    /// returns `folder`.
    @discardableResult
    static func make(
        at folder: URL, seed: UInt64 = 1, vocabularySize: Int = 320, texts: [String] = corpus,
        minimumFrequency: Int = 2, maxPositions: Int = 96
    ) throws -> URL {
        let tokenizer = try tokenizer(vocabularySize: vocabularySize, texts: texts, minimumFrequency: minimumFrequency)
        let config = config(for: tokenizer, maxPositions: maxPositions)
        let device = ReferenceDevice()
        let model = try makeLanguageModel(
            config: config, parameters: ParameterStore(device: device, specs: ModelParameters.specs(for: config)))
        try WeightInitializer.initialize(model, seed: seed)
        try ModelFolder.save(model, to: folder)
        try tokenizer.write(to: folder.appendingPathComponent("tokenizer.json"))
        return folder
    }

    /// Writes a reward model made from the language model in `languageModel` (its backbone and
    /// tokenizer, a head seeded by `seed`) into `folder`.
    @discardableResult
    static func rewardModel(at folder: URL, from languageModel: URL, seed: UInt64 = 2) throws -> URL {
        let device = ReferenceDevice()
        let model = try ScalarHeadModel.initialized(
            from: ModelFolder.load(languageModel, device: device).model, device: device, seed: seed)
        try model.save(to: folder)
        try FileManager.default.copyItem(
            at: languageModel.appendingPathComponent("tokenizer.json"),
            to: folder.appendingPathComponent("tokenizer.json"))
        return folder
    }

    /// The subjects of the synthetic chats.
    static let subjects = ["sky", "fox", "river", "hill", "cat", "owl"]

    /// An easy synthetic preference set of `count` pairs in TRL's format, alternating two
    /// `rejected_kind`s: "wrong_word" (the rejected answer says "bad" where the chosen one says
    /// "good") and "padded" (the rejected answer wraps the chosen one in filler). A `margin` is
    /// added to every line when `margins` is set.
    static func preferenceLines(count: Int, margins: Bool = false) -> [String] {
        (0..<count).map { index in
            let subject = subjects[index % subjects.count]
            let prompt = index % 3 == 0 ? "Tell me about the \(subject)." : "What is the \(subject)?"
            let padded = (index / subjects.count) % 2 == 1
            let chosen = "The \(subject) is good."
            let rejected =
                padded
                ? "Great question! Let me think about that for a moment. \(chosen) I hope this helps."
                : "The \(subject) is bad."
            var line =
                #"{"prompt": [{"role": "user", "content": "\#(prompt)"}], "chosen": "\#(chosen)", "rejected": "\#(rejected)", "#
                + #""rejected_kind": "\#(padded ? "padded" : "wrong_word")""#
            if margins { line += #", "margin": \#(Double(index % 4) * 0.5)"# }
            return line + "}"
        }
    }

    /// Writes `lines` as a JSONL file `name` in `folder`.
    @discardableResult
    static func write(_ lines: [String], to folder: URL, name: String) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url
    }
}
