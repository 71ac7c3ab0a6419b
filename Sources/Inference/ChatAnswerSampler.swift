import Core
import Datasets
import Formats
import Models
import Tensors

/// Samples answers of a chat model to conversations (`gputrain label`, `critique-revise`,
/// `ai-label`): the conversation rendered with an open assistant turn, continued until the
/// end-of-turn token or `options.maxNewTokens`, decoded without its stop token. The answers of
/// one conversation are one batch.
public struct ChatAnswerSampler {
    public let model: LanguageModel
    public let encoder: ChatEncoder
    public var options: GenerationOptions

    /// A sampler that stops at `encoder`'s end-of-turn and the model's end-of-sequence tokens too.
    public init(model: LanguageModel, encoder: ChatEncoder, options: GenerationOptions) {
        self.model = model
        self.encoder = encoder
        self.options = options
        self.options.stopTokens.formUnion(encoder.stopTokens(for: model.config))
    }

    /// `count` answers to `prompt`, drawn from `seed` (the same seed gives the same answers).
    /// A prompt too long for the context keeps its newest tokens, leaving room to answer.
    public func answers(to prompt: [ChatMessage], count: Int, seed: UInt64) throws -> [String] {
        var ids = encoder.encodePrompt(prompt).map(Int32.init)
        let context = model.config.contextLength
        let room = context - min(options.maxNewTokens, context / 2)
        if ids.count > room { ids = Array(ids.suffix(room)) }
        var options = options
        options.sampling.seed = seed
        let stops = options.stopTokens
        return try Generator(model: model).generate(Array(repeating: ids, count: count), options: options).map {
            encoder.tokenizer.decode($0.tokens.filter { !stops.contains($0) }.map(Int.init), skipSpecialTokens: true)
        }
    }

    /// The log-probabilities of `candidates` (token ids) as the first token of the answer to `prompt`.
    public func firstTokenLogProbs(prompt: [ChatMessage], candidates: [Int]) throws -> [Float] {
        var ids = encoder.encodePrompt(prompt).map(Int32.init)
        if ids.count > model.config.contextLength { ids = Array(ids.suffix(model.config.contextLength)) }
        let device = model.parameters.device
        let batch = TokenBatch(
            ids: try IntTensor(device: device, shape: [ids.count], values: ids, label: "prompt ids"), batch: 1,
            length: ids.count)
        let last = try model.hiddenStates(batch, dropout: nil).slice(axis: 0, ids.count - 1..<ids.count)
        let logProbs = try model.logits(fromHidden: last).logSoftmax().values()
        return candidates.map { logProbs[$0] }
    }
}
