import ArgumentParser
import Core
import Foundation
import Inference
import Models
import Runtime
import Training

/// `gputrain chat`: an interactive conversation with a chat model in the terminal.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a model in the terminal (its chat template; /reset forgets, /quit or Ctrl-D ends).")

    @Option(help: "A model folder (config.json, model.safetensors, tokenizer.json), e.g. a run's final/.")
    var model: String

    @Option(help: "A system prompt, e.g. \"Answer in one word.\"")
    var system: String?

    @OptionGroup var sampling: SamplingArguments

    @OptionGroup var deviceOptions: DeviceOptions

    func run() throws {
        let folder = try ChatModelFolder(url: URL(fileURLWithPath: model), field: "--model")
        let options = sampling.options(defaultMaxTokens: 128, defaultTemperature: 0)
        var session = ChatSession(
            model: try folder.loadModel(device: deviceOptions.open(), trainable: false),
            encoder: folder.encoder, systemPrompt: system, options: options)
        let interactive = isatty(fileno(stdin)) != 0
        if interactive {
            print("Chatting with \(model)\(system.map { " (system: \($0))" } ?? ""). /reset forgets, /quit ends.")
        }
        while true {
            if interactive { write("> ") }
            guard let line = readLine() else { break }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if text == "/quit" || text == "/exit" { break }
            if text == "/reset" {
                session.reset()
                continue
            }
            try session.reply(to: text) { write($0) }
            write("\n")
        }
    }

    private func write(_ text: String) {
        if !text.isEmpty { FileHandle.standardOutput.write(Data(text.utf8)) }
    }
}
