import Core
import Datasets
import Formats
import Foundation
import Inference
import Models
import Tensors
import TinyWorld

/// A reward for an online RL stage: a score for one completion of one RL prompt (TRL's
/// `reward_funcs`). Rewards are chosen by name in the config (`RewardSet`) and summed with weights.
public protocol RewardFunction {
    /// The name the config chooses it by, and the metrics report it under (`rewards/<name>/mean`).
    var name: String { get }
    /// Fields of an RL prompt line the reward reads (checked for every prompt before training).
    var requiredFields: [String] { get }
    /// The reward of `completion`, the decoded answer to `prompt`.
    func reward(prompt: RLPrompt, completion: String) throws -> Double
    /// The rewards of many completions (one prompt each); a model-based reward scores them in batches.
    func rewards(prompts: [RLPrompt], completions: [String]) throws -> [Double]
}

extension RewardFunction {
    public var requiredFields: [String] { [] }

    public func rewards(prompts: [RLPrompt], completions: [String]) throws -> [Double] {
        try zip(prompts, completions).map { try reward(prompt: $0, completion: $1) }
    }
}

/// 1 when the completion gives the prompt's reference `answer`, else 0. A numeric reference
/// (arithmetic) must be the completion's last number ("20 + 16 equals 36." → 36); any other
/// reference must appear as whole words, ignoring case and punctuation ("The language of Tuth
/// is Lunese." contains "Lunese").
public struct ExactMatchReward: RewardFunction {
    public let name = "exact_match"
    public let requiredFields = ["answer"]

    public init() {}

    public func reward(prompt: RLPrompt, completion: String) -> Double {
        guard let reference = Self.reference(of: prompt) else { return 0 }
        if let number = Double(reference) {
            return RewardText.numbers(in: completion).last == number ? 1 : 0
        }
        return WordMatching.contains(WordMatching.words(completion), phrase: WordMatching.words(reference)) ? 1 : 0
    }

    /// The `answer` field as text (a JSON number is accepted too).
    static func reference(of prompt: RLPrompt) -> String? {
        guard let value = prompt.fields["answer"] else { return nil }
        if let text = value.stringValue { return text }
        if let integer = value.intValue { return String(integer) }
        return value.doubleValue.map { String($0) }
    }
}

/// 1 when the completion follows the answer style the prompt asks for, else 0. The style is
/// read from the prompt's system and user messages, never from the reference answer:
/// "one word" / "single word" → exactly one word; "full sentence" / "complete sentence" → at
/// least three words, starting with a capital letter or a digit and ending with . ! or ?.
/// A prompt that asks for no style scores 1.
public struct FormatReward: RewardFunction {
    public let name = "format"

    public init() {}

    public func reward(prompt: RLPrompt, completion: String) -> Double {
        let words = completion.split(whereSeparator: \.isWhitespace)
        switch Self.style(of: prompt.messages) {
        case .unspecified:
            return 1
        case .oneWord:
            return words.count == 1 && !WordMatching.words(completion).isEmpty ? 1 : 0
        case .fullSentence:
            let text = completion.trimmingCharacters(in: .whitespacesAndNewlines)
            let opens = text.first.map { $0.isUppercase || $0.isNumber } ?? false
            let closes = text.last.map { ".!?".contains($0) } ?? false
            return words.count >= 3 && opens && closes ? 1 : 0
        }
    }

    /// The style the instructions in `messages` (system and user turns) ask for.
    static func style(of messages: [ChatMessage]) -> AnswerStyle {
        let instructions = messages.filter { $0.role != .assistant }.map { $0.content.lowercased() }
        let asks = { (phrases: [String]) in instructions.contains { text in phrases.contains { text.contains($0) } } }
        if asks(["one word", "single word"]) { return .oneWord }
        if asks(["full sentence", "complete sentence"]) { return .fullSentence }
        return .unspecified
    }
}

/// Shorter is better: 1 − min(words / `limit`, 1), so an empty answer scores 1 and one of
/// `limit` words or more scores 0.
public struct LengthReward: RewardFunction {
    public let name = "length"
    /// Words at which the reward reaches 0.
    public let limit: Int

    /// A length reward reaching 0 at `limit` words (at least 1).
    public init(limit: Int) throws {
        try ConfigError.require(limit >= 1, "length_limit", limit, mustBe: "at least 1 word")
        self.limit = limit
    }

    public func reward(prompt: RLPrompt, completion: String) -> Double {
        let words = completion.split(whereSeparator: \.isWhitespace).count
        return 1 - min(Double(words) / Double(limit), 1)
    }
}

/// The score of a trained reward model (a `ScalarHeadModel` folder, e.g. `gputrain reward`'s
/// `final/`): the prompt and completion are rendered with the reward model's own tokenizer and
/// chat template, and the head reads the last token, as TRL's reward models are applied
/// (`RewardScorer` does the scoring).
public final class RewardModelReward: RewardFunction {
    public let name = "reward_model"
    public let scorer: RewardScorer

    /// The reward model in `url` on `device` (frozen), scoring `batchSize` sequences per pass.
    public init(folder url: URL, device: Device, batchSize: Int = 16) throws {
        scorer = try RewardScorer(folder: url, device: device, field: "'reward_model'", batchSize: batchSize)
    }

    public func reward(prompt: RLPrompt, completion: String) throws -> Double {
        try rewards(prompts: [prompt], completions: [completion])[0]
    }

    public func rewards(prompts: [RLPrompt], completions: [String]) throws -> [Double] {
        try scorer.scores(prompts: prompts.map(\.messages), answers: completions)
    }
}

/// Number scanning for the text rewards (words: `WordMatching`).
enum RewardText {
    /// The numbers written in `text`, in order: digits with an optional decimal part, negative
    /// when a minus sign is attached ("-3", not "19 - 3").
    static func numbers(in text: String) -> [Double] {
        let characters = Array(text)
        var numbers: [Double] = []
        var index = 0
        while index < characters.count {
            guard characters[index].isASCIIDigit else {
                index += 1
                continue
            }
            let start = index > 0 && characters[index - 1] == "-" ? index - 1 : index
            while index < characters.count, characters[index].isASCIIDigit { index += 1 }
            if index + 1 < characters.count, characters[index] == ".", characters[index + 1].isASCIIDigit {
                index += 1
                while index < characters.count, characters[index].isASCIIDigit { index += 1 }
            }
            if let number = Double(String(characters[start..<index])) { numbers.append(number) }
        }
        return numbers
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
