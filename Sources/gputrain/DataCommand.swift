import ArgumentParser
import Datasets
import Formats
import Foundation
import TinyWorld

/// `gputrain data …`: making and preparing datasets.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Make and prepare datasets.",
        subcommands: [TinyWorldCommand.self, PrepareCommand.self, InspectCommand.self, FeedbackDataCommand.self])
}

/// `gputrain data tiny-world`: writes the built-in synthetic world (the pipeline's default data).
struct TinyWorldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiny-world",
        abstract: "Generate the tiny world: world.json, pretrain.jsonl, probes.jsonl and the post-training files.")

    @Option(help: "Folder to write into (created if missing).")
    var out: String

    @Option(help: "Random seed: the same seed writes the same files.")
    var seed: UInt64 = 1234

    @Option(help: "Size preset: smoke, standard or large.")
    var size = "standard"

    func validate() throws {
        guard TinyWorldSize.named(size) != nil else {
            throw ValidationError("--size must be smoke, standard or large, not '\(size)'")
        }
    }

    func run() throws {
        let summary = try TinyWorldWriter.write(
            to: URL(fileURLWithPath: out), seed: seed, size: TinyWorldSize.named(size)!)
        print(
            """
            wrote \(summary.files.joined(separator: ", ")) to \(out)
            \(summary.entities) entities, \(summary.facts) facts, \(summary.documents) documents, \
            \(summary.characters) characters; each fact stated \(summary.minimumMentions)+ times \
            (mean \(String(format: "%.1f", summary.meanMentions)))
            """)
    }
}

/// `gputrain data prepare`: tokenizes text into training and validation shards.
struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare", abstract: "Tokenize text or JSONL files into token shards with a validation split.")

    @Option(help: "A tokenizer.json file or a model folder.")
    var tokenizer: String

    @Option(parsing: .upToNextOption, help: "Text files (one document each) or JSONL files of {\"text\": ...}.")
    var input: [String]

    @Option(help: "Output folder.")
    var out: String

    @Option(help: "Every N-th document goes to the validation split.")
    var validationEvery = 20

    @Option(help: "The token that separates documents.")
    var endOfText = "<|endoftext|>"

    func run() throws {
        let tokenizerFile = URL(fileURLWithPath: tokenizer)
        let meta = try DatasetPreparation.prepare(
            inputs: input.map { URL(fileURLWithPath: $0) }, tokenizer: Tokenizer.load(fromPath: tokenizer),
            tokenizerFile: tokenizerFile, endOfText: endOfText, validationEvery: validationEvery,
            folder: URL(fileURLWithPath: out))
        print(
            "wrote \(out): \(meta.trainTokens) training and \(meta.validationTokens) validation tokens, vocabulary \(meta.vocabSize)"
        )
    }
}
