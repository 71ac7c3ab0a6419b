import Datasets
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
        let contents = [
            try JSONLines.data(chats.sft.map(Conversation.init)), try JSONLines.data(chats.preferences),
            try JSONLines.data(chats.rlPrompts), try JSONLines.data(chats.evaluation),
        ]
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, data) in zip(files, contents) {
            try AtomicFile.write(data, to: directory.appendingPathComponent(name))
        }
        return files
    }
}
