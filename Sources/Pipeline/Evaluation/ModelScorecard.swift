import Foundation

/// One chat model's figures on the held-out questions, as `report.json` lists them per model.
/// Every key is always written; a figure that does not apply is JSON `null`.
public struct ModelScorecard: Codable, Equatable, Sendable {
    /// Means of the judge's three components.
    public struct JudgeMeans: Codable, Equatable, Sendable {
        public var correct: Double
        public var followsSystemPrompt: Double
        public var concise: Double

        enum CodingKeys: String, CodingKey {
            case correct, concise
            case followsSystemPrompt = "follows_system_prompt"
        }

        public init(correct: Double, followsSystemPrompt: Double, concise: Double) {
            self.correct = correct
            self.followsSystemPrompt = followsSystemPrompt
            self.concise = concise
        }

        /// The means over `answers` (0 over none; an unjudged answer counts as all zeros).
        init(answers: [ChatAnswer]) {
            let judged = answers.map(\.judged)
            self.init(
                correct: mean(judged.map(\.correct)), followsSystemPrompt: mean(judged.map(\.followsSystemPrompt)),
                concise: mean(judged.map(\.concise)))
        }
    }

    /// Fraction of answers in chat form (`ChatAnswer.isChatAnswer`).
    public var answerRate: Double
    /// Mean of the judge's `correct`.
    public var accuracy: Double
    /// The same over questions about pretraining-only facts; `nil` when there are none.
    public var accuracyPretrainOnly: Double?
    /// Mean judge score (the mean of the three components).
    public var judgeScore: Double
    public var judge: JudgeMeans
    /// Mean reward-model score; `nil` when no reward model scored the answers.
    public var reward: Double?
    /// Mean tokens generated per answer, the stop token included.
    public var meanLength: Double
    /// Mean over prompts of Σ_t log π(y_t) − log π_sft(y_t) on the model's own samples: 0 for
    /// the SFT model itself, `nil` for the base model (or when not measured).
    public var klToSFT: Double?
    /// The judge's means per system prompt (`AnswerStyle` raw value → means), for `report.md`
    /// only: they show where a change in following the system prompt happened. Not in
    /// `report.json`, whose keys are fixed.
    public var judgeBySystemPrompt: [String: JudgeMeans] = [:]

    enum CodingKeys: String, CodingKey {
        case accuracy, judge, reward
        case answerRate = "answer_rate"
        case accuracyPretrainOnly = "accuracy_pretrain_only"
        case judgeScore = "judge_score"
        case meanLength = "mean_length"
        case klToSFT = "kl_to_sft"
    }

    public init(
        answerRate: Double, accuracy: Double, accuracyPretrainOnly: Double?, judgeScore: Double, judge: JudgeMeans,
        reward: Double?, meanLength: Double, klToSFT: Double?
    ) {
        self.answerRate = answerRate
        self.accuracy = accuracy
        self.accuracyPretrainOnly = accuracyPretrainOnly
        self.judgeScore = judgeScore
        self.judge = judge
        self.reward = reward
        self.meanLength = meanLength
        self.klToSFT = klToSFT
    }

    /// The figures of `answers`. Answers the judge gave no verdict count as all-zero verdicts
    /// (wrong, not following the system prompt, not concise); the reward is the mean when every
    /// answer has one, else `nil`. Means over no answers are 0.
    public init(answers: [ChatAnswer], klToSFT: Double? = nil) {
        let judged = answers.map(\.judged)
        let pretrainOnly = answers.filter(\.question.pretrainOnly)
        let rewards = answers.compactMap(\.reward)
        judge = JudgeMeans(answers: answers)
        judgeBySystemPrompt = Dictionary(grouping: answers) { $0.question.style.rawValue }.mapValues(
            JudgeMeans.init(answers:))
        answerRate = mean(answers.map { $0.isChatAnswer ? 1 : 0 })
        accuracy = judge.correct
        accuracyPretrainOnly = pretrainOnly.isEmpty ? nil : mean(pretrainOnly.map(\.judged.correct))
        judgeScore = mean(judged.map { ($0.correct + $0.followsSystemPrompt + $0.concise) / 3 })
        reward = !answers.isEmpty && rewards.count == answers.count ? mean(rewards) : nil
        meanLength = mean(answers.map { Double($0.tokenCount) })
        self.klToSFT = klToSFT
    }

    /// Writes every key, `null` for absent figures (the synthesized coder would omit them) and
    /// for non-finite ones (a diverged model's NaN must not make the whole report unwritable).
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let figures: [(Double?, CodingKeys)] = [
            (answerRate, .answerRate), (accuracy, .accuracy), (accuracyPretrainOnly, .accuracyPretrainOnly),
            (judgeScore, .judgeScore), (reward, .reward), (meanLength, .meanLength), (klToSFT, .klToSFT),
        ]
        for (value, key) in figures {
            try container.encodeOrNull(value.flatMap { $0.isFinite ? $0 : nil }, forKey: key)
        }
        try container.encode(judge, forKey: .judge)
    }
}

/// The mean of `values`; 0 when there are none.
private func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }

extension KeyedEncodingContainer {
    /// Encodes `value`, or JSON `null` when it is `nil` (never omits the key).
    mutating func encodeOrNull<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}
