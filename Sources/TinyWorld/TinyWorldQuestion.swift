import Core
import Datasets
import Formats

/// How a system prompt asks the tiny world's assistant to answer.
public enum AnswerStyle: String, Codable, Sendable, CaseIterable {
    /// No system prompt.
    case unspecified = "none"
    /// "Answer in one word."
    case oneWord = "one_word"
    /// "Answer in a full sentence."
    case fullSentence = "full_sentence"

    /// The system prompt that asks for this style, if any.
    public var systemPrompt: String? {
        switch self {
        case .unspecified: return nil
        case .oneWord: return "Answer in one word."
        case .fullSentence: return "Answer in a full sentence."
        }
    }

    /// The style a system prompt asks for (`.unspecified` for none or an unknown one).
    public init(systemPrompt: String?) {
        self = Self.allCases.first { $0.systemPrompt != nil && $0.systemPrompt == systemPrompt } ?? .unspecified
    }
}

/// One question about a tiny world (a fact, or arithmetic) with its expected answer, as written to
/// the RL prompt and evaluation files.
public struct TinyWorldQuestion: Codable, Equatable, Sendable {
    /// The system prompt (if the style has one) and the user's question.
    public var prompt: [ChatMessage]
    /// The fact's object, or the arithmetic result.
    public var answer: String
    public var style: AnswerStyle
    /// The relation's name, or "arithmetic".
    public var relation: String
    /// The fact's subject, or the arithmetic problem ("7 + 5").
    public var subject: String
    /// The fact is only in the pretraining text (never in fine-tuning data).
    public var pretrainOnly: Bool

    enum CodingKeys: String, CodingKey {
        case prompt, answer, style, relation, subject
        case pretrainOnly = "pretrain_only"
    }

    /// The relation name used for arithmetic questions.
    public static let arithmetic = "arithmetic"

    /// A question about `fact` asked in `style`.
    public init(fact: Fact, style: AnswerStyle) {
        self.init(
            text: Relation.fill(fact.relation.question, subject: fact.subject, object: fact.object),
            answer: fact.object,
            style: style, relation: fact.relation.rawValue, subject: fact.subject, pretrainOnly: fact.pretrainOnly)
    }

    /// An arithmetic question `a op b` asked in `style`.
    public init(arithmetic problem: ArithmeticProblem, style: AnswerStyle) {
        self.init(
            text: "What is \(problem.text)?", answer: String(problem.result), style: style, relation: Self.arithmetic,
            subject: problem.text, pretrainOnly: false)
    }

    private init(
        text: String, answer: String, style: AnswerStyle, relation: String, subject: String, pretrainOnly: Bool
    ) {
        prompt = (style.systemPrompt.map { [ChatMessage.system($0)] } ?? []) + [.user(text)]
        self.answer = answer
        self.style = style
        self.relation = relation
        self.subject = subject
        self.pretrainOnly = pretrainOnly
    }
}

/// `a + b`, `a - b` or `a * b` on small numbers, as in the pretraining text.
public struct ArithmeticProblem: Codable, Equatable, Sendable {
    public var a: Int
    public var operation: String
    public var b: Int

    /// A random problem like those of `TinyWorldCorpus.arithmetic`.
    public static func random(using random: inout SeededGenerator) -> ArithmeticProblem {
        let a = Int.random(in: 0...20, using: &random)
        let b = Int.random(in: 0...20, using: &random)
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return ArithmeticProblem(a: a, operation: "+", b: b)
        case 1: return ArithmeticProblem(a: max(a, b), operation: "-", b: min(a, b))
        default: return ArithmeticProblem(a: a % 10, operation: "*", b: b % 10)
        }
    }

    /// The problem parsed from "a op b" (nil when `text` is not one).
    public init?(text: String) {
        let parts = text.split(separator: " ")
        guard parts.count == 3, let a = Int(parts[0]), let b = Int(parts[2]), ["+", "-", "*"].contains(parts[1]) else {
            return nil
        }
        self.init(a: a, operation: String(parts[1]), b: b)
    }

    public init(a: Int, operation: String, b: Int) {
        self.a = a
        self.operation = operation
        self.b = b
    }

    /// "7 + 5".
    public var text: String { "\(a) \(operation) \(b)" }

    public var result: Int {
        switch operation {
        case "+": return a + b
        case "-": return a - b
        default: return a * b
        }
    }
}
