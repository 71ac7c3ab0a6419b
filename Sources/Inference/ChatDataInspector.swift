import Datasets
import Formats
import Foundation

/// What `gputrain data inspect` shows: the first examples of a chat data file rendered with a
/// model's template, with the tokens the loss trains marked `[[…]]`, so a user sees exactly
/// what is learned (and that the end-of-turn token is among it).
public enum ChatDataInspector {
    /// The report for the first `count` examples of `file` (SFT conversations, preference
    /// pairs or RL prompts, told apart by their keys) rendered for the model in `folder`.
    public static func report(file: URL, folder: ChatModelFolder, count: Int, limits: ChatLengthLimits) throws -> String
    {
        let encoder = folder.encoder
        var lines = [
            "template \(folder.template.style.rawValue), tokenizer \(folder.url.appendingPathComponent("tokenizer.json").path)",
            "trained tokens are marked [[…]]",
        ]
        var filter = ChatLengthFilter(limits: limits)
        func describe(_ title: String, _ example: ChatExample) {
            guard let fitted = filter.fit(example) else {
                lines.append("── \(title): dropped (\(example.ids.count) tokens > max_length \(limits.maxLength ?? 0))")
                return
            }
            lines.append("── \(title): \(fitted.ids.count) tokens, \(fitted.trainedCount) trained")
            lines.append(fitted.marked(with: encoder.tokenizer))
        }
        switch try kind(of: file) {
        case .preferences:
            for (index, pair) in try PreferenceDataset.read(file).prefix(count).enumerated() {
                let (chosen, rejected) = try encoder.encode(pair)
                describe("pair \(index + 1) chosen", chosen)
                describe("pair \(index + 1) rejected" + (pair.rejectedKind.map { " (\($0))" } ?? ""), rejected)
            }
        case .prompts:
            for (index, prompt) in try RLPromptDataset.read(file).prefix(count).enumerated() {
                let ids = encoder.encodePrompt(prompt.messages)
                lines.append("── prompt \(index + 1): \(ids.count) tokens (the model answers after them)")
                lines.append(encoder.tokenizer.decode(ids))
            }
        case .conversations:
            for (index, conversation) in try SFTDataset.read(file).prefix(count).enumerated() {
                describe("conversation \(index + 1)", try encoder.encode(conversation))
            }
        }
        return lines.joined(separator: "\n")
    }

    private enum Kind { case conversations, preferences, prompts }

    /// The data kind of `file`, from its first line's keys.
    private static func kind(of file: URL) throws -> Kind {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw DatasetError.file(
                file.path, "cannot be read; give a JSONL file of conversations, preference pairs or prompts")
        }
        let first = text.split(separator: "\n").first { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
        let object = (try? JSONValue.parse(Data(first.utf8), file: file.path))?.objectValue
        if object?["chosen"] != nil || object?["rejected"] != nil { return .preferences }
        if object?["messages"] == nil, object?["completion"] == nil, object?["prompt"] != nil { return .prompts }
        return .conversations
    }
}
