import Datasets
import Formats
import Models

/// A conversation with a chat model: the messages so far (an optional system prompt first),
/// each reply generated after the template's assistant header and stopped at its end-of-turn
/// token, then kept in the history. `gputrain chat` and `gputrain generate --system` use it.
public struct ChatSession {
    public let model: LanguageModel
    public let encoder: ChatEncoder
    public var options: GenerationOptions
    public private(set) var messages: [ChatMessage]

    /// A session with `model`, rendering with `encoder`'s template; stops at its end-of-turn
    /// token and the model's end-of-sequence tokens, besides `options.stopTokens`.
    public init(model: LanguageModel, encoder: ChatEncoder, systemPrompt: String? = nil, options: GenerationOptions) {
        self.model = model
        self.encoder = encoder
        self.options = options
        self.options.stopTokens.formUnion(encoder.stopTokens(for: model.config))
        messages = systemPrompt.map { [.system($0)] } ?? []
    }

    /// Forgets the turns, keeping the system prompt.
    public mutating func reset() {
        messages = messages.filter { $0.role == .system }
    }

    /// Adds the user's `text`, generates the reply (`onText` sees its text as it is decoded),
    /// adds it to the history and returns it (without the end-of-turn token) and why it stopped.
    @discardableResult
    public mutating func reply(to text: String, onText: ((String) -> Void)? = nil) throws -> (
        text: String, stopReason: StopReason, tokens: Int
    ) {
        messages.append(.user(text))
        var prompt = encoder.encodePrompt(messages).map(Int32.init)
        // Keep the newest turns when the history outgrows the context, leaving room to answer.
        let context = model.config.contextLength
        let room = context - min(options.maxNewTokens, context / 2)
        if prompt.count > room { prompt = Array(prompt.suffix(room)) }
        var stream = StreamingDecoder(tokenizer: encoder.tokenizer, context: prompt)
        let stops = options.stopTokens
        let generation = try Generator(model: model).generate(prompt, options: options) { token in
            if !stops.contains(token) { onText?(stream.append(token)) }
        }
        onText?(stream.finish())
        let answerTokens = generation.tokens.filter { !stops.contains($0) }.map(Int.init)
        let answer = encoder.tokenizer.decode(answerTokens, skipSpecialTokens: true)
        messages.append(.assistant(answer))
        options.sampling.seed &+= 1
        return (answer, generation.stopReason, generation.tokens.count)
    }
}
