import ArgumentParser
import Datasets
import Foundation
import Inference
import Training

/// `gputrain data inspect`: shows chat data as a model will be trained on it.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract:
            "Show the first examples of a chat data file rendered with a model's template, trained tokens marked [[…]]."
    )

    @Option(help: "The model folder whose tokenizer and chat template render the data.")
    var model: String

    @Option(help: "A JSONL file of conversations, preference pairs or RL prompts.")
    var data: String

    @Option(help: "How many examples to show.")
    var n = 3

    @Option(help: "Chat template: auto (the model's), chatml or llama3.")
    var template = "auto"

    @Option(help: "Most tokens per example (0: no limit); longer examples are shown as dropped.")
    var maxLength = 0

    func run() throws {
        let folder = try ChatModelFolder(url: URL(fileURLWithPath: model), templateName: template, field: "--model")
        print(
            try ChatDataInspector.report(
                file: URL(fileURLWithPath: data), folder: folder, count: n,
                limits: ChatLengthLimits(maxLength: maxLength > 0 ? maxLength : nil)))
    }
}
