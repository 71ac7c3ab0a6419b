import Datasets
import Formats

/// Where a labelling session stands, as the front ends show it: the prompt to decide and its
/// answers (none when every prompt is decided), and the progress.
public struct LabelState: Equatable, Sendable {
    /// The prompt to decide (0-based), `nil` when all are decided.
    public var index: Int?
    /// The prompt to decide.
    public var prompt: RankingPrompt?
    /// The system message the answers were sampled after (`--system`), if any.
    public var system: String?
    /// Its answers, in the order shown.
    public var answers: [String]
    /// Prompts in the file.
    public var total: Int
    public var ranked: Int
    public var skipped: Int
    /// Preference lines in the output file.
    public var pairs: Int

    public var isDone: Bool { index == nil }
    public var decided: Int { ranked + skipped }
    /// Whether there is a decision to undo.
    public var canUndo: Bool { decided > 0 }

    /// The state as the web page reads it (`GET /api/state`).
    public var json: JSONValue {
        let messages = (prompt?.messages ?? []).map { message -> JSONValue in
            .object(["role": .string(message.role.rawValue), "content": .string(message.content)])
        }
        return .object(
            JSONObject([
                ("done", .bool(isDone)), ("index", index.map { .int($0) } ?? .null), ("total", .int(total)),
                ("decided", .int(decided)), ("ranked", .int(ranked)), ("skipped", .int(skipped)),
                ("pairs", .int(pairs)), ("can_undo", .bool(canUndo)), ("system", system.map { .string($0) } ?? .null),
                ("prompt", .array(messages)), ("answers", .array(answers.map { .string($0) })),
            ]))
    }
}
