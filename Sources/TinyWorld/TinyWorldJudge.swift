import Datasets
import Formats

/// Scores an answer to a tiny-world question from the world's facts and the system prompt alone,
/// without looking at how the data's chosen answers are worded. Each component is 0 or 1:
///
/// - correct: a fact answer names the right value and no other value the relation takes in the
///   world; an arithmetic answer's last number is the result;
/// - follows_system_prompt: "Answer in one word." → exactly one word; "Answer in a full
///   sentence." → at least three words, starting with a capital or digit and ending in . ! or ?;
///   no system prompt → always 1;
/// - concise: one sentence of at most `conciseWords` words.
///
/// The score is their mean.
public struct TinyWorldJudge: Sendable {
    /// The components and their mean.
    public struct Verdict: Codable, Equatable, Sendable {
        public var correct: Double
        public var followsSystemPrompt: Double
        public var concise: Double
        public var score: Double { (correct + followsSystemPrompt + concise) / 3 }

        enum CodingKeys: String, CodingKey {
            case correct, concise
            case followsSystemPrompt = "follows_system_prompt"
        }
    }

    /// Most words a concise answer has.
    public static let conciseWords = 15

    private let facts: [String: Fact]
    private let values: [Relation: Set<String>]

    public init(world: TinyWorld) {
        var facts: [String: Fact] = [:]
        var values: [Relation: Set<String>] = [:]
        for fact in world.facts {
            facts[Relation.fill(fact.relation.question, subject: fact.subject, object: fact.object)] = fact
            values[fact.relation, default: []].insert(fact.object)
        }
        self.facts = facts
        self.values = values
    }

    /// The verdict on `answer` to the conversation `prompt` (optional system message, then the
    /// user's question); `nil` when the question is not about this world.
    public func judge(prompt: [ChatMessage], answer: String) -> Verdict? {
        guard let question = prompt.last(where: { $0.role == .user })?.content else { return nil }
        let style = AnswerStyle(systemPrompt: prompt.first { $0.role == .system }?.content)
        let words = answer.split(whereSeparator: \.isWhitespace)
        let correct: Bool
        if let fact = facts[question] {
            let named = WordMatching.words(answer)
            let others = values[fact.relation, default: []].subtracting([fact.object])
            func names(_ value: String) -> Bool { WordMatching.contains(named, phrase: WordMatching.words(value)) }
            correct = names(fact.object) && !others.contains(where: names)
        } else if question.hasPrefix("What is "), question.hasSuffix("?"),
            let problem = ArithmeticProblem(text: String(question.dropFirst("What is ".count).dropLast()))
        {
            correct = WordMatching.words(answer).last { Int($0) != nil }.flatMap { Int($0) } == problem.result
        } else {
            return nil
        }
        let follows: Bool
        switch style {
        case .unspecified: follows = true
        case .oneWord: follows = words.count == 1 && !WordMatching.words(answer).isEmpty
        case .fullSentence:
            let trimmed = answer.trimmedWhitespace()
            follows =
                words.count >= 3 && (trimmed.first.map { $0.isUppercase || $0.isNumber } ?? false)
                && (trimmed.last.map { ".!?".contains($0) } ?? false)
        }
        let concise = words.count <= Self.conciseWords && Self.sentenceCount(answer) <= 1
        return Verdict(correct: correct ? 1 : 0, followsSystemPrompt: follows ? 1 : 0, concise: concise ? 1 : 0)
    }

    /// A correct, concise answer to the conversation `prompt` in the style its system prompt asks
    /// for (a sentence in the relation's first phrasing when it asks for none); nil when the
    /// question is not about this world. What a reviser that knows the world would write.
    public func referenceAnswer(prompt: [ChatMessage]) -> String? {
        guard let question = prompt.last(where: { $0.role == .user })?.content else { return nil }
        let style = AnswerStyle(systemPrompt: prompt.first { $0.role == .system }?.content)
        let written: AnswerStyle = style == .oneWord ? .oneWord : .fullSentence
        if let fact = facts[question] {
            return TinyWorldResponder.phrase(
                object: fact.object, relation: fact.relation.rawValue, subject: fact.subject, style: written
            ) { $0[0] }
        }
        guard question.hasPrefix("What is "), question.hasSuffix("?"),
            let problem = ArithmeticProblem(text: String(question.dropFirst("What is ".count).dropLast()))
        else { return nil }
        let subject = String(question.dropFirst("What is ".count).dropLast())
        return TinyWorldResponder.phrase(
            object: String(problem.result), relation: TinyWorldQuestion.arithmetic, subject: subject, style: written
        ) { $0[0] }
    }

    /// Sentence ends: . ! or ? followed by whitespace or the end.
    private static func sentenceCount(_ text: String) -> Int {
        let characters = Array(text.trimmedWhitespace())
        return characters.indices.filter {
            ".!?".contains(characters[$0]) && ($0 + 1 == characters.count || characters[$0 + 1].isWhitespace)
        }.count
    }
}

extension String {
    /// Without leading and trailing whitespace.
    func trimmedWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
