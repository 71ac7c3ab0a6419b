import Core
import Datasets
import Formats

/// How a rejected response of a tiny-world preference pair is worse than the chosen one.
public enum RejectionKind: String, Codable, Sendable, CaseIterable {
    /// States another entity's value of the same relation.
    case wrongFact = "wrong_fact"
    /// Gets the arithmetic result wrong.
    case wrongArithmetic = "wrong_arithmetic"
    /// The right answer wrapped in filler sentences.
    case padded
    /// The right answer in the style the system prompt did not ask for.
    case ignoresSystemPrompt = "ignores_system_prompt"
}

/// One tiny-world preference pair, as written to `preferences.jsonl`.
public struct TinyWorldPreference: Codable, Equatable, Sendable {
    public var prompt: [ChatMessage]
    public var chosen: [ChatMessage]
    public var rejected: [ChatMessage]
    public var rejectedKind: RejectionKind

    enum CodingKeys: String, CodingKey {
        case prompt, chosen, rejected
        case rejectedKind = "rejected_kind"
    }
}

/// The post-training data of a tiny world, deterministic from its seed: SFT conversations,
/// preference pairs and RL prompts about the entities fine-tuning may see, and held-out evaluation
/// questions (a fifth of those facts, plus every pretraining-only fact, flagged), each asked in
/// every style.
public struct TinyWorldChats: Sendable {
    /// SFT conversations: each trainable fact asked in every style, plus arithmetic (see
    /// `terseDemonstrationEvery` for the demonstrations that do not follow the system prompt).
    public let sft: [[ChatMessage]]
    public let preferences: [TinyWorldPreference]
    public let rlPrompts: [TinyWorldQuestion]
    public let evaluation: [TinyWorldQuestion]

    /// One in this many trainable facts is held out of training for evaluation.
    static let heldOutEvery = 5

    /// One in this many SFT demonstrations asked for a full sentence answers in one word instead.
    /// Demonstrators are terse and follow instructions unreliably (human ones do), so the SFT model
    /// answers in one word too often; the preference pairs, whose chosen answers always follow the
    /// system prompt, are what teach it. This is the gap DPO and PPO are there to close.
    public static let terseDemonstrationEvery = 2

    public init(world: TinyWorld) {
        var random = SeededGenerator(seed: world.seed ^ 0x5F7_C4A7)
        let trainable = world.facts.filter { !$0.pretrainOnly }.shuffled(using: &random)
        let heldOut = trainable.indices.filter { $0 % Self.heldOutEvery == Self.heldOutEvery - 1 }.map { trainable[$0] }
        let training = trainable.indices.filter { $0 % Self.heldOutEvery != Self.heldOutEvery - 1 }.map {
            trainable[$0]
        }
        let responder = TinyWorldResponder(world: world)
        func arithmetic(_ count: Int, _ random: inout SeededGenerator) -> [ArithmeticProblem] {
            (0..<count).map { _ in ArithmeticProblem.random(using: &random) }
        }
        func randomStyle(_ random: inout SeededGenerator) -> AnswerStyle {
            AnswerStyle.allCases.randomElement(using: &random)!
        }

        var sftQuestions = training.flatMap { fact in
            AnswerStyle.allCases.map { TinyWorldQuestion(fact: fact, style: $0) }
        }
        sftQuestions += arithmetic(training.count, &random).map {
            TinyWorldQuestion(arithmetic: $0, style: randomStyle(&random))
        }
        sft = sftQuestions.shuffled(using: &random).enumerated().map { index, question in
            let chosen = responder.chosen(question, using: &random)
            let slips = question.style == .fullSentence && index % Self.terseDemonstrationEvery == 0
            let answer =
                slips ? responder.rejected(question, .ignoresSystemPrompt, chosen: chosen, using: &random) : chosen
            return question.prompt + [.assistant(answer)]
        }

        var pairQuestions = training.map { TinyWorldQuestion(fact: $0, style: randomStyle(&random)) }
        pairQuestions += arithmetic(training.count / 2, &random).map {
            TinyWorldQuestion(arithmetic: $0, style: randomStyle(&random))
        }
        preferences = pairQuestions.shuffled(using: &random).enumerated().map { index, question in
            let kinds = RejectionKind.allCases.filter { responder.canReject(question, as: $0) }
            let kind = kinds[index % kinds.count]
            let chosen = responder.chosen(question, using: &random)
            return TinyWorldPreference(
                prompt: question.prompt, chosen: [.assistant(chosen)],
                rejected: [.assistant(responder.rejected(question, kind, chosen: chosen, using: &random))],
                rejectedKind: kind)
        }

        rlPrompts =
            (training.map { TinyWorldQuestion(fact: $0, style: randomStyle(&random)) }
            + arithmetic(training.count / 2, &random).map {
                TinyWorldQuestion(arithmetic: $0, style: randomStyle(&random))
            })
            .shuffled(using: &random)

        let pretrainOnly = world.facts.filter(\.pretrainOnly)
        // Every style of every question, so that a change in how a model follows the system prompt
        // is measured on the same facts, and a one-question change is a smaller fraction.
        evaluation =
            (heldOut + pretrainOnly).flatMap { fact in
                AnswerStyle.allCases.map { TinyWorldQuestion(fact: fact, style: $0) }
            }
            + arithmetic(max(heldOut.count / 2, 1), &random).flatMap { problem in
                AnswerStyle.allCases.map { TinyWorldQuestion(arithmetic: problem, style: $0) }
            }
    }
}

/// Writes the answers of the tiny world's assistant: chosen answers are correct, concise and in the
/// style the system prompt asks for; rejected ones fail in one chosen way.
struct TinyWorldResponder {
    let world: TinyWorld
    /// Every value each relation takes in the world (for wrong facts).
    let values: [String: [String]]

    init(world: TinyWorld) {
        self.world = world
        var values: [String: Set<String>] = [:]
        for fact in world.facts { values[fact.relation.rawValue, default: []].insert(fact.object) }
        self.values = values.mapValues { $0.sorted() }
    }

    static let filler = [
        "Great question!", "Let me think about that for a moment.",
        "I hope this helps, and feel free to ask me anything else.",
    ]

    func chosen(_ question: TinyWorldQuestion, using random: inout SeededGenerator) -> String {
        answer(question, object: question.answer, style: question.style, using: &random)
    }

    func canReject(_ question: TinyWorldQuestion, as kind: RejectionKind) -> Bool {
        let isArithmetic = question.relation == TinyWorldQuestion.arithmetic
        switch kind {
        case .wrongFact: return !isArithmetic && (values[question.relation]?.count ?? 0) > 1
        case .wrongArithmetic: return isArithmetic
        case .padded: return true
        case .ignoresSystemPrompt: return question.style != .unspecified
        }
    }

    func rejected(
        _ question: TinyWorldQuestion, _ kind: RejectionKind, chosen: String, using random: inout SeededGenerator
    ) -> String {
        switch kind {
        case .wrongFact:
            let wrong = values[question.relation]!.filter { $0 != question.answer }.randomElement(using: &random)!
            return answer(question, object: wrong, style: question.style, using: &random)
        case .wrongArithmetic:
            let wrong =
                Int(question.answer)! + [-2, -1, 1, 2, 3].filter { Int(question.answer)! + $0 >= 0 }.randomElement(
                    using: &random)!
            return answer(question, object: String(wrong), style: question.style, using: &random)
        case .padded:
            let sentence = chosen.hasSuffix(".") ? chosen : chosen + "."
            return "\(Self.filler[0]) \(Self.filler[1]) \(sentence) \(Self.filler[2])"
        case .ignoresSystemPrompt:
            let other: AnswerStyle = question.style == .oneWord ? .fullSentence : .oneWord
            return answer(question, object: question.answer, style: other, using: &random)
        }
    }

    /// `object` as the answer to `question`, in `style` (no system prompt: a sentence in a random phrasing).
    private func answer(
        _ question: TinyWorldQuestion, object: String, style: AnswerStyle, using random: inout SeededGenerator
    ) -> String {
        Self.phrase(object: object, relation: question.relation, subject: question.subject, style: style) {
            style == .fullSentence ? $0[0] : $0.randomElement(using: &random)!
        }
    }

    /// `object` as the answer about `subject` under the relation named `relation` ("arithmetic":
    /// a sum), in `style`: one capitalised word, or a sentence made from the statement template
    /// `pick` chooses among the relation's.
    static func phrase(
        object: String, relation: String, subject: String, style: AnswerStyle, pick: ([String]) -> String
    ) -> String {
        if style == .oneWord { return object.prefix(1).uppercased() + object.dropFirst() }
        guard let relation = Relation(rawValue: relation) else { return "\(subject) equals \(object)." }
        let sentence = Relation.fill(pick(relation.statements), subject: subject, object: object)
        return sentence.prefix(1).uppercased() + sentence.dropFirst()
    }
}
