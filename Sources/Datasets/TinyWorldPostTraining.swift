import Formats
import Foundation

/// Writes a tiny world's post-training files (see `TinyWorldChats`) next to its pretraining files:
///
/// | file | content |
/// |---|---|
/// | `sft.jsonl` | `{"messages": [...]}` conversations |
/// | `preferences.jsonl` | `{"prompt", "chosen", "rejected", "rejected_kind"}` (message lists) |
/// | `rl_prompts.jsonl` | `{"prompt": [...], "answer", "style", "relation", "subject", "pretrain_only"}` |
/// | `eval_questions.jsonl` | the same fields, for held-out facts and pretraining-only facts |
public enum TinyWorldPostTraining {
    /// The files written, in order.
    public static let files = ["sft.jsonl", "preferences.jsonl", "rl_prompts.jsonl", "eval_questions.jsonl"]

    /// Writes the post-training files of `world` into `directory` (each atomically) and returns their names.
    @discardableResult
    public static func write(to directory: URL, world: TinyWorld) throws -> [String] {
        struct Conversation: Encodable { let messages: [ChatMessage] }
        let chats = TinyWorldChats(world: world)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let contents = [
            try jsonLines(chats.sft.map(Conversation.init), encoder), try jsonLines(chats.preferences, encoder),
            try jsonLines(chats.rlPrompts, encoder), try jsonLines(chats.evaluation, encoder),
        ]
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, data) in zip(files, contents) {
            try AtomicFile.write(data, to: directory.appendingPathComponent(name))
        }
        return files
    }

    private static func jsonLines<T: Encodable>(_ items: [T], _ encoder: JSONEncoder) throws -> Data {
        var data = Data()
        for item in items {
            data.append(try encoder.encode(item))
            data.append(0x0A)
        }
        return data
    }
}
