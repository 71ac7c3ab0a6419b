import ArgumentParser
import Datasets
import Formats
import Foundation
import TinyWorld

/// `gputrain tokenize`: prints the ids Hugging Face `tokenizer.encode(text).ids` gives.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Print the token ids of a text as one JSON array (special tokens added).")

    @Option(help: "A tokenizer.json file or a model folder.")
    var tokenizer: String

    @Option(help: "The text to tokenize.")
    var text: String?

    @Option(help: "A file whose exact contents to tokenize.")
    var file: String?

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("give exactly one of --text and --file") }
    }

    func run() throws {
        let tokenizer = try Tokenizer.load(fromPath: self.tokenizer)
        let input: String
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            input = String(decoding: data, as: UTF8.self)
        } else {
            input = text ?? ""
        }
        print("[" + tokenizer.encode(input).map(String.init).joined(separator: ",") + "]")
    }
}

/// `gputrain tokenizer train`: trains a byte-level BPE tokenizer.
struct TokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Train tokenizers.", subcommands: [Train.self])

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train", abstract: "Train a byte-level BPE tokenizer and write tokenizer.json.")

        @Option(parsing: .upToNextOption, help: "Text files, or JSONL files of {\"text\": ...}.")
        var input: [String]

        @Option(help: "Vocabulary size, special tokens included.")
        var vocabSize: Int

        @Option(help: "Where to write tokenizer.json.")
        var out: String

        @Option(parsing: .upToNextOption, help: "Special tokens (added first, in order).")
        var specialTokens: [String] = BPETrainer.defaultSpecialTokens

        func run() throws {
            var trainer = try BPETrainer(vocabularySize: vocabSize, specialTokens: specialTokens)
            for path in input {
                for document in try TextDocuments.read(URL(fileURLWithPath: path)) { trainer.count(document) }
            }
            let tokenizer = try trainer.train()
            try tokenizer.write(to: URL(fileURLWithPath: out))
            print("wrote \(out): \(tokenizer.vocabularySize) tokens")
        }
    }
}
