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

    /// The token ids the model reads for `prompt`.
    func promptIDs(_ prompt: RankingPrompt) -> [Int32] {
        var messages = prompt.messages
        if let system = settings.system, messages.first?.role != .system { messages.insert(.system(system), at: 0) }
        return folder.encoder.encodePrompt(messages).map(Int32.init)
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
        let model = try loadedModel()
        var options = GenerationOptions(
            maxNewTokens: settings.maxTokens, stopTokens: folder.encoder.stopTokens(for: model.config),
            sampling: SamplingOptions(
                temperature: settings.temperature, topK: settings.topK, topP: settings.topP,
                repetitionPenalty: settings.repetitionPenalty, seed: 0))
        var seeds = SeededGenerator(seed: settings.seed)
        for _ in 0..<index { _ = seeds.next() }
        options.sampling.seed = seeds.next()
        let ids = promptIDs(prompt)
        let generations = try Generator(model: model).generate(
            [[Int32]](repeating: ids, count: settings.n), options: options)
        return generations.map { generation in
            let tokens = generation.tokens.filter { !options.stopTokens.contains($0) }.map(Int.init)
            return folder.tokenizer.decode(tokens, skipSpecialTokens: true)
        }
    }

    private func loadedModel() throws -> LanguageModel {
        if let model { return model }
        let loaded = try folder.loadModel(device: openDevice(), trainable: false)
        model = loaded
        return loaded
    }
}
