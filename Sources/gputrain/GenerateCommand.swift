import ArgumentParser
import Core
import Formats
import Foundation
import Inference
import Models
import Runtime
import Training

/// `gputrain generate`: continues a prompt, printing the text as each token arrives.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with a model, streaming the text to standard output.",
        discussion: "Prints the prompt, then the new text as it is generated, stopping at an end-of-sequence token of "
            + "config.json, after --max-tokens or when the context is full. A summary goes to standard error.")

    @Option(help: "A Hugging Face model folder (config.json, model.safetensors, tokenizer.json).")
    var model: String

    @Option(
        help:
            "The text to continue (the tokenizer adds its special tokens, e.g. BOS), or with --chat the user's message."
    )
    var prompt: String

    @Flag(help: "Treat --prompt as a user message in the model's chat template and print the assistant's answer.")
    var chat = false

    @Option(help: "A system prompt for the chat form (implies --chat).")
    var system: String?

    @OptionGroup var sampling: SamplingArguments

    @OptionGroup var deviceOptions: DeviceOptions

    private var options: GenerationOptions { sampling.options(defaultMaxTokens: 64, defaultTemperature: 1) }

    func run() throws {
        let chosen = try deviceOptions.open()
        if chat || system != nil { return try runChat(on: chosen) }
        let tokenizer = try Tokenizer.load(fromPath: ModelFolder.tokenizerFolder(of: URL(fileURLWithPath: model)).path)
        let loaded = try ModelFolder.load(URL(fileURLWithPath: model), device: chosen, trainable: false)
        let ids = tokenizer.encode(prompt).map(Int32.init)
        guard !ids.isEmpty else { throw ValidationError("the prompt encodes to no tokens") }
        var options = options
        options.stopTokens = Set(loaded.model.config.eosTokenIDs.map(Int32.init))
        var stream = StreamingDecoder(tokenizer: tokenizer, context: ids)
        let start = Date()
        write(prompt)
        let result = try Generator(model: loaded.model).generate(ids, options: options) { write(stream.append($0)) }
        write(stream.finish() + "\n")
        summarize(tokens: result.tokens.count, since: start, device: chosen, reason: result.stopReason)
    }

    /// The chat form: one user turn (after the system prompt), the answer streamed.
    private func runChat(on chosen: Device) throws {
        let folder = try ChatModelFolder(url: URL(fileURLWithPath: model), field: "--model")
        var session = ChatSession(
            model: try folder.loadModel(device: chosen, trainable: false), encoder: folder.encoder,
            systemPrompt: system, options: options)
        let start = Date()
        let reply = try session.reply(to: prompt) { write($0) }
        write("\n")
        summarize(tokens: reply.tokens, since: start, device: chosen, reason: reply.stopReason)
    }

    private func summarize(tokens: Int, since start: Date, device: Device, reason: StopReason) {
        let seconds = Date().timeIntervalSince(start)
        FileHandle.standardError.write(
            Data(
                String(
                    format: "%d tokens in %.2f s (%.1f tokens/s) on %@, stopped at %@\n", tokens, seconds,
                    Double(tokens) / max(seconds, 1e-9), device.name, Self.describe(reason)
                ).utf8))
    }

    /// Writes `text` to standard output at once (unbuffered, so it streams).
    private func write(_ text: String) {
        if !text.isEmpty { FileHandle.standardOutput.write(Data(text.utf8)) }
    }

    private static func describe(_ reason: StopReason) -> String {
        switch reason {
        case .endOfSequence: return "an end-of-sequence token"
        case .maxTokens: return "--max-tokens"
        case .contextLength: return "the context length"
        }
    }
}
