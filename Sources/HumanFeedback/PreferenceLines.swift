import Formats
import Foundation

/// The output of `gputrain label`: TRL preference lines `{"prompt", "chosen", "rejected"}`, one
/// per ordered pair a ranking implies, made from the session's records (the session is the
/// source of truth; this file is regenerated after every decision). docs/formats.md §4.8.
public enum PreferenceLines {
    /// The preference lines of `record` (none when skipped). The prompt is written as given;
    /// with a message-list prompt the answers are `[{"role": "assistant", "content": …}]` (TRL's
    /// conversational format), else strings. A pair whose two answers are the same text is left
    /// out: it prefers nothing.
    public static func lines(of record: LabelRecord) -> [String] {
        guard let ranking = record.ranking else { return [] }
        let conversational = record.prompt.arrayValue != nil
        func completion(_ answer: Int) -> JSONValue {
            let text = JSONValue.string(record.answers[answer])
            return conversational ? [.object(["role": "assistant", "content": text])] : text
        }
        return ranking.pairs.filter { record.answers[$0.better] != record.answers[$0.worse] }.map { pair in
            JSONValue.object(
                JSONObject([
                    ("prompt", record.prompt), ("chosen", completion(pair.better)),
                    ("rejected", completion(pair.worse)),
                ])
            ).serialized()
        }
    }

    /// The whole output file for `records`, one line each, each ending in a newline.
    public static func data(_ records: [LabelRecord]) -> Data {
        Data(records.flatMap(lines).map { $0 + "\n" }.joined().utf8)
    }
}
