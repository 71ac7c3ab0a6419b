import ArgumentParser
import Foundation
import Models
import Runtime
import Training

/// `gputrain chat`: an interactive conversation with a chat model in the terminal.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat", abstract: "Chat with a model in the terminal (its chat template; /reset forgets, /quit or Ctrl-D ends).")

    @Option(help: "A model folder (config.json, model.safetensors, tokenizer.json), e.g. a run's final/.")
    var model: String

    @Option(help: "A system prompt, e.g. \"Answer in one word.\"")
    var system: String?

    @Option(help: "New tokens per answer at most.")
    var maxTokens = 128

    @Option(help: "Sampling temperature; 0 always picks the most likely token (greedy).")
    var temperature: Float = 0

    @Option(help: "Sample among the most likely tokens that hold probability P (1: all).")
    var topP: Float = 1

    @Option(help: "Seed of the sampling.")
    var seed: UInt64 = 0

    @Option(help: "Device index or name (`gputrain devices`), or `reference`.")
    var device: String?

    func run() throws {
        let folder = try ChatModelFolder(url: URL(fileURLWithPath: model), field: "--model")
        let options = GenerationOptions(maxNewTokens: maxTokens, sampling: SamplingOptions(temperature: temperature, topP: topP, seed: seed))
        var session = ChatSession(model: try folder.loadModel(device: DeviceFactory.make(device), trainable: false),
                                  encoder: folder.encoder, systemPrompt: system, options: options)
        let interactive = isatty(fileno(stdin)) != 0
        if interactive { print("Chatting with \(model)\(system.map { " (system: \($0))" } ?? ""). /reset forgets, /quit ends.") }
        while true {
            if interactive { write("> ") }
            guard let line = readLine() else { break }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if text == "/quit" || text == "/exit" { break }
            if text == "/reset" { session.reset(); continue }
            try session.reply(to: text) { write($0) }
            write("\n")
        }
    }

    private func write(_ text: String) {
        if !text.isEmpty { FileHandle.standardOutput.write(Data(text.utf8)) }
    }
}
