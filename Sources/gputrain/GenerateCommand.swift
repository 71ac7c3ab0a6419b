import ArgumentParser
import Foundation
import Formats
import Models
import Runtime

/// `gputrain generate`: continues a prompt, printing the text as each token arrives.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with a model, streaming the text to standard output.",
        discussion: "Prints the prompt, then the new text as it is generated, stopping at an end-of-sequence token of "
            + "config.json, after --max-tokens or when the context is full. A summary goes to standard error.")

    @Option(help: "A Hugging Face model folder (config.json, model.safetensors, tokenizer.json).")
    var model: String

    @Option(help: "The text to continue (the tokenizer adds its special tokens, e.g. BOS).")
    var prompt: String

    @Option(help: "New tokens at most.")
    var maxTokens = 64

    @Option(help: "Sampling temperature; 0 always picks the most likely token (greedy).")
    var temperature: Float = 1

    @Option(help: "Sample among the K most likely tokens only.")
    var topK: Int?

    @Option(help: "Sample among the most likely tokens that hold probability P (nucleus sampling; 1: all).")
    var topP: Float = 1

    @Option(help: "Penalty on tokens already in the text (transformers' repetition_penalty; 1: off).")
    var repetitionPenalty: Float = 1

    @Option(help: "Seed of the sampling: the same seed gives the same text.")
    var seed: UInt64 = 0

    @Option(help: "Device index or name (`gputrain devices`), or `reference`.")
    var device: String?

    private var options: GenerationOptions {
        GenerationOptions(maxNewTokens: maxTokens, sampling: SamplingOptions(
            temperature: temperature, topK: topK, topP: topP, repetitionPenalty: repetitionPenalty, seed: seed))
    }

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must not be negative") }
        do {
            try options.sampling.validate()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        let chosen = try DeviceFactory.make(device)
        let tokenizer = try Tokenizer.load(fromPath: model)
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
        let seconds = Date().timeIntervalSince(start)
        FileHandle.standardError.write(Data(String(
            format: "%d tokens in %.2f s (%.1f tokens/s) on %@, stopped at %@\n", result.tokens.count, seconds,
            Double(result.tokens.count) / max(seconds, 1e-9), chosen.name, Self.describe(result.stopReason)).utf8))
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
