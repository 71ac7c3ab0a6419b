import Core
import Datasets
import Formats
import Foundation
import Inference
import Models

/// Samples the answers a person ranks: N answers per prompt from a chat model, as one batch of
/// N rows (the prompt rendered in the model's chat template, after `--system` when given, with
/// an open assistant turn), each stopped at the template's end-of-turn token.
///
/// The answers of prompt i depend only on the settings and i: the batch's seed is the (i+1)-th
/// draw of a SplitMix64 stream seeded with the command's seed, and the `Generator` derives each
/// row's seed from it. So a resumed session (or a second run) shows the same answers.
public final class AnswerSampler {
    public let settings: SamplingSettings
    private let folder: ChatModelFolder
    private let contextLength: Int
    private let openDevice: () throws -> Device
    private var model: LanguageModel?

    /// A sampler of `settings.n` answers per prompt from the model folder `settings.model`; the
    /// model loads on the device `openDevice` gives when the first answers are needed.
    public init(settings: SamplingSettings, openDevice: @escaping () throws -> Device) throws {
        self.settings = settings
        self.openDevice = openDevice
        folder = try ChatModelFolder(url: URL(fileURLWithPath: settings.model), field: "--model")
        contextLength = try ModelFolder.config(of: folder.url).contextLength
    }

    /// The conversation the model answers for `prompt`: `--system` first unless it has a system message.
    func messages(_ prompt: RankingPrompt) -> [ChatMessage] {
        var messages = prompt.messages
        if let system = settings.system, messages.first?.role != .system { messages.insert(.system(system), at: 0) }
        return messages
    }

    /// The token ids the model reads for `prompt`.
    func promptIDs(_ prompt: RankingPrompt) -> [Int32] {
        folder.encoder.encodePrompt(messages(prompt)).map(Int32.init)
    }

    /// Throws unless `prompt` leaves the model room to answer, naming the prompts file's line.
    func check(_ prompt: RankingPrompt, file: String) throws {
        let length = promptIDs(prompt).count
        guard length < contextLength else {
            throw LabelError(
                "\(file):\(prompt.line): the prompt takes \(length) tokens in the model's chat template, and the "
                    + "model's context holds \(contextLength), leaving no room for an answer; shorten the prompt")
        }
    }

    /// The `settings.n` answers to prompt `index` (without the end-of-turn token).
    public func answers(to prompt: RankingPrompt, index: Int) throws -> [String] {
        let options = GenerationOptions(
            maxNewTokens: settings.maxTokens,
            sampling: SamplingOptions(
                temperature: settings.temperature, topK: settings.topK, topP: settings.topP,
                repetitionPenalty: settings.repetitionPenalty))
        var seeds = SeededGenerator(seed: settings.seed)
        for _ in 0..<index { _ = seeds.next() }
        return try ChatAnswerSampler(model: try loadedModel(), encoder: folder.encoder, options: options).answers(
            to: messages(prompt), count: settings.n, seed: seeds.next())
    }

    private func loadedModel() throws -> LanguageModel {
        if let model { return model }
        let loaded = try folder.loadModel(device: openDevice(), trainable: false)
        model = loaded
        return loaded
    }
}
