import Datasets
import Formats
import Foundation
import Models

/// Turns the prompts of `gputrain generate --data` into token ids as `gputrain generate
/// --prompt` would: a string is raw text (the tokenizer adds its special tokens, e.g. BOS)
/// unless `chat`, when it is a user message; a message list is always a chat. A chat is
/// rendered with the model's template and an open assistant turn, after the system prompt
/// when one is given and the chat does not begin with its own.
public struct GenerationPromptEncoder {
    public let tokenizer: Tokenizer
    /// The model folder's chat encoder, when some prompt is a chat.
    public let chatEncoder: ChatEncoder?
    /// Whether string prompts are user messages.
    public let chat: Bool
    public let system: String?
    /// The model's `config.json`.
    public let config: ModelConfig

    /// Opens the tokenizer of the model folder `model`, with its chat template only when one of
    /// `prompts` needs it (a model without a template still continues raw text).
    public init(model: URL, prompts: [GenerationPrompt], chat: Bool, system: String?) throws {
        self.chat = chat
        self.system = system
        if let first = prompts.first(where: { Self.isChat($0, chat: chat) }) {
            let folder: ChatModelFolder
            do {
                folder = try ChatModelFolder(url: model, field: "--model")
            } catch let error as DatasetError where !chat {
                // A message list asked for the template, not the command line: say where.
                throw first.error("a message-list prompt is rendered with the model's chat template, but \(error)")
            }
            tokenizer = folder.tokenizer
            chatEncoder = folder.encoder
        } else {
            tokenizer = try Tokenizer.load(fromPath: ModelFolder.tokenizerFolder(of: model).path)
            chatEncoder = nil
        }
        config = try ModelFolder.config(of: model)
    }

    private static func isChat(_ prompt: GenerationPrompt, chat: Bool) -> Bool {
        if case .text = prompt.content { return chat }
        return true
    }

    /// The conversation `prompt` stands for, `nil` for raw text.
    public func messages(_ prompt: GenerationPrompt) -> [ChatMessage]? {
        var messages: [ChatMessage]
        switch prompt.content {
        case .text(let text):
            guard chat else { return nil }
            messages = [.user(text)]
        case .messages(let list): messages = list
        }
        if let system, messages.first?.role != .system { messages.insert(.system(system), at: 0) }
        return messages
    }

    /// The ids the model continues; a prompt of no tokens, or of more than the model's context,
    /// is an error naming its line.
    public func encode(_ prompt: GenerationPrompt) throws -> [Int32] {
        let ids: [Int]
        if let messages = messages(prompt), let chatEncoder {
            ids = chatEncoder.encodePrompt(messages)
        } else if case .text(let text) = prompt.content {
            ids = tokenizer.encode(text)
        } else {
            preconditionFailure("a chat prompt has a chat encoder")
        }
        guard !ids.isEmpty else {
            throw prompt.error("the prompt encodes to no tokens; give it some text")
        }
        guard ids.count <= config.contextLength else {
            throw prompt.error(
                "the prompt has \(ids.count) tokens, more than the model's context of \(config.contextLength); "
                    + "shorten it")
        }
        return ids.map(Int32.init)
    }

    /// Where answers stop: the model's end-of-sequence ids, and the template's end-of-turn token
    /// when some prompt is a chat (then for every row: a batch has one set of stop tokens).
    public var stopTokens: Set<Int32> {
        chatEncoder?.stopTokens(for: config) ?? Set(config.eosTokenIDs.map(Int32.init))
    }
}
