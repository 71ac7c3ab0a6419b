import ArgumentParser
import Core
import Datasets
import Formats
import Foundation
import Inference
import Runtime
import Training

/// `gputrain score`: a reward model's score of each chat of a JSONL file.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score chats with a reward model (a `gputrain reward` run's final/).",
        discussion:
            "DATA is JSONL of {\"prompt\", \"completion\"} (strings or message lists) or {\"messages\": [...]} ending "
            + "with the assistant turn to judge. Prints one line per example: the score, a tab and the judged answer; "
            + "with --json, each input object with a \"score\" field added.")

    @Option(
        help:
            "The reward model folder (config.json with one label, model.safetensors with score.weight, tokenizer.json)."
    )
    var model: String

    @Option(help: "JSONL of {\"prompt\", \"completion\"} or {\"messages\"} lines.")
    var data: String

    @Option(help: "Chat template: auto (the model folder's), chatml or llama3.")
    var template = "auto"

    @Option(help: "Chats per forward pass.")
    var batchSize = 16

    @OptionGroup var deviceOptions: DeviceOptions

    @Flag(help: "Print each input line as a JSON object with \"score\" added.")
    var json = false

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        let url = URL(fileURLWithPath: data)
        let chats = try ScoredChat.read(url)
        let chosen = try deviceOptions.open()
        let scorer = try RewardScorer(
            folder: URL(fileURLWithPath: model), device: chosen, templateName: template, batchSize: batchSize)
        let scores = try scorer.scores(conversations: chats.map(\.messages))
        for (chat, score) in zip(chats, scores) {
            if json {
                var object = chat.object
                object["score"] = .double(score)
                print(JSONValue.object(object).serialized())
            } else {
                let answer = chat.messages.last!.content.replacingOccurrences(of: "\n", with: "\\n")
                print(String(format: "%.6f", score) + "\t" + answer)
            }
        }
    }
}

/// One line of the file to score: the object as written and the conversation it holds.
struct ScoredChat {
    var object: JSONObject
    var messages: [ChatMessage]

    /// The chats of `url`. Lines are read as SFT data (`SFTDataset`, which names the file and
    /// line of a malformed one); each conversation must end with the assistant turn to judge.
    static func read(_ url: URL) throws -> [ScoredChat] {
        let conversations = try SFTDataset.read(url)
        let text = String(decoding: FileManager.default.contents(atPath: url.path) ?? Data(), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().filter {
            !$0.element.allSatisfy(\.isWhitespace)
        }
        precondition(lines.count == conversations.count, "one conversation per non-blank line")
        return try zip(lines, conversations).map { line, conversation in
            guard conversation.messages.last?.role == .assistant else {
                throw DatasetError.line(
                    url.path, line.offset + 1,
                    "the conversation ends with a \(conversation.messages.last!.role.rawValue) "
                        + "turn; it should end with the assistant answer to score")
            }
            let object = try JSONValue.parse(Data(line.element.utf8), file: url.path).objectValue!
            return ScoredChat(object: object, messages: conversation.messages)
        }
    }
}
