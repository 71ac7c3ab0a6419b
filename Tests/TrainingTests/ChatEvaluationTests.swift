import Core
import Datasets
import Formats
import Foundation
import Models
import Pipeline
import Tensors
import TestSupport
import TinyWorld
import Training
import XCTest

/// The chat evaluation: scorecard arithmetic, real generation on a fixture model, and the
/// completion log-probs and KL it measures.
final class ChatEvaluationTests: XCTestCase {
    private static let world = TinyWorld(seed: 7, size: .smoke)
    /// The fixture tokenizer with the ChatML tokens (ids 2 and 3, inside both fixtures' 400-token vocabularies).
    private static let tokenizer = try! Tokenizer.load(fromPath: HuggingFaceFixtures.folder("llama-tiny").path)

    // MARK: Scorecard

    /// A verdict with the given components (the type has no public memberwise initializer).
    private func verdict(_ correct: Double, _ follows: Double, _ concise: Double) throws -> TinyWorldJudge.Verdict {
        try JSONDecoder().decode(
            TinyWorldJudge.Verdict.self,
            from: Data(
                #"{"correct": \#(correct), "follows_system_prompt": \#(follows), "concise": \#(concise)}"#.utf8))
    }

    private func question(pretrainOnly: Bool) throws -> TinyWorldQuestion {
        let fact = try XCTUnwrap(Self.world.facts.first { $0.pretrainOnly == pretrainOnly })
        return TinyWorldQuestion(fact: fact, style: .oneWord)
    }

    private func handMadeAnswers() throws -> [ChatAnswer] {
        let trained = try question(pretrainOnly: false)
        let pretrainOnly = try question(pretrainOnly: true)
        return [
            ChatAnswer(
                question: trained, text: "Tolbek", tokenCount: 3, endedTurn: true, verdict: try verdict(1, 1, 1),
                reward: 1),
            ChatAnswer(
                question: pretrainOnly, text: " \n ", tokenCount: 2, endedTurn: true, verdict: try verdict(0, 1, 0),
                reward: 0.5),
            ChatAnswer(
                question: pretrainOnly, text: "and then", tokenCount: 8, endedTurn: false,
                verdict: try verdict(1, 0, 1), reward: -0.5),
            ChatAnswer(question: trained, text: "x", tokenCount: 5, endedTurn: true, verdict: nil, reward: 0),
            ChatAnswer(
                question: pretrainOnly, text: "ok", tokenCount: 4, endedTurn: true, verdict: try verdict(1, 1, 0),
                reward: 1),
        ]
    }

    func testScorecardAveragesHandMadeAnswersAndCountsUnjudgedAsZero() throws {
        let answers = try handMadeAnswers()
        let card = ModelScorecard(answers: answers, klToSFT: 0.25)
        // Chat form: ended the turn with something said (answers 0, 3 and 4; 1 is blank, 2 never ended).
        XCTAssertEqual(answers.map(\.isChatAnswer), [true, false, false, true, true])
        XCTAssertEqual(card.answerRate, 3.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(card.accuracy, 3.0 / 5, accuracy: 1e-12, "the unjudged answer counts as wrong")
        XCTAssertEqual(try XCTUnwrap(card.accuracyPretrainOnly), 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(card.judge.correct, 3.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(card.judge.followsSystemPrompt, 3.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(card.judge.concise, 2.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(card.judgeScore, (1 + 1.0 / 3 + 2.0 / 3 + 0 + 2.0 / 3) / 5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(card.reward), 2.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(card.meanLength, 22.0 / 5, accuracy: 1e-12)
        XCTAssertEqual(card.klToSFT, 0.25)
    }

    func testScorecardSplitsTheJudgeBySystemPrompt() throws {
        var answers = try handMadeAnswers()
        let fact = try XCTUnwrap(Self.world.facts.first)
        answers[0] = ChatAnswer(
            question: TinyWorldQuestion(fact: fact, style: .fullSentence), text: "It is Tolbek.", tokenCount: 4,
            endedTurn: true, verdict: try verdict(1, 0, 1))
        let card = ModelScorecard(answers: answers)
        XCTAssertEqual(Set(card.judgeBySystemPrompt.keys), ["full_sentence", "one_word"])
        XCTAssertEqual(card.judgeBySystemPrompt["full_sentence"], .init(correct: 1, followsSystemPrompt: 0, concise: 1))
        // Answers 1–4 (one word; answer 3 unjudged, so all zeros).
        let oneWord = try XCTUnwrap(card.judgeBySystemPrompt["one_word"])
        XCTAssertEqual(oneWord.correct, 2.0 / 4, accuracy: 1e-12)
        XCTAssertEqual(oneWord.followsSystemPrompt, 2.0 / 4, accuracy: 1e-12)
        XCTAssertEqual(oneWord.concise, 1.0 / 4, accuracy: 1e-12)
    }

    func testScorecardLeavesOutWhatDoesNotApply() throws {
        var answers = try handMadeAnswers()
        answers[3].reward = nil
        let trainedOnly = answers.filter { !$0.question.pretrainOnly }
        let card = ModelScorecard(answers: trainedOnly)
        XCTAssertNil(card.accuracyPretrainOnly, "no pretraining-only question")
        XCTAssertNil(card.reward, "one answer has no reward")
        XCTAssertNil(card.klToSFT)
        XCTAssertEqual(card.accuracy, 0.5)

        let empty = ModelScorecard(answers: [])
        XCTAssertEqual([empty.answerRate, empty.accuracy, empty.judgeScore, empty.meanLength], [0, 0, 0, 0])
        XCTAssertNil(empty.reward)
    }

    func testRealJudgeScoresAnExactAnswerFully() throws {
        let fact = try XCTUnwrap(Self.world.facts.first)
        let judge = TinyWorldJudge(world: Self.world)
        let question = TinyWorldQuestion(fact: fact, style: .oneWord)
        let answers = [fact.object, "I do not know."].map {
            ChatAnswer(
                question: question, text: $0, tokenCount: 2, endedTurn: true,
                verdict: judge.judge(prompt: question.prompt, answer: $0))
        }
        XCTAssertEqual(ModelScorecard(answers: [answers[0]]).judgeScore, 1)
        XCTAssertEqual(ModelScorecard(answers: answers).accuracy, 0.5)
    }

    // MARK: Generation

    private func evaluation(questions: Int, maxNewTokens: Int = 6) throws -> ChatEvaluation {
        let all = TinyWorldChats(world: Self.world).evaluation
        let chosen = (0..<questions).map { all[$0 * 3 % all.count] }
        return try ChatEvaluation(
            encoder: ChatEncoder(tokenizer: Self.tokenizer, template: .chatML), questions: chosen,
            judge: TinyWorldJudge(world: Self.world), settings: .init(maxNewTokens: maxNewTokens, batchSize: 8))
    }

    /// A fixture model, on the OpenCL device unless told (the reference device is slow in debug builds).
    private func fixtureModel(_ name: String, device: Device? = nil) throws -> LanguageModel {
        try ModelFolder.load(
            HuggingFaceFixtures.folder(name), device: device ?? TestDevices.openCL.get(), trainable: false
        ).model
    }

    /// gpt2-tiny made to say `token` at every position: the final layer norm outputs a constant
    /// multiple of that token's (tied) embedding, which is the largest logit for the fixture's
    /// tokens 0 and 3.
    private func modelAlwaysSaying(_ token: Int) throws -> LanguageModel {
        let model = try fixtureModel("gpt2-tiny")
        let embedding = try model.parameters.tensor("transformer.wte.weight").values()
        let width = model.config.hiddenSize
        try model.parameters.load("transformer.ln_f.weight", values: [Float](repeating: 0, count: width))
        try model.parameters.load(
            "transformer.ln_f.bias", values: embedding[(token * width)..<((token + 1) * width)].map { $0 * 50 })
        return model
    }

    func testGenerationIsDeterministicBatchedLikeAloneAndInRange() throws {
        let evaluation = try evaluation(questions: 11)
        let model = try fixtureModel("gpt2-tiny")
        var rewarded: [String] = []
        let first = try evaluation.evaluate(
            model,
            reward: { prompt, answer in
                rewarded.append(answer)
                return Double(prompt.count) + Double(answer.count) / 100
            })
        let second = try evaluation.evaluate(
            model, reward: { prompt, answer in Double(prompt.count) + Double(answer.count) / 100 })
        XCTAssertEqual(first, second, "same model, same settings: same answers and figures")
        XCTAssertEqual(first.answers.map(\.text), rewarded, "the reward model sees every answer")
        XCTAssertEqual(first.answers.map(\.question), evaluation.questions)

        let card = first.scorecard
        for figure in [
            card.answerRate, card.accuracy, card.judgeScore, card.judge.correct, card.judge.followsSystemPrompt,
            card.judge.concise,
        ] {
            XCTAssertTrue((0...1).contains(figure), "\(card)")
        }
        XCTAssertTrue((1...6).contains(card.meanLength), "\(card)")
        XCTAssertNotNil(card.reward)
        XCTAssertNil(card.klToSFT)

        // Batches of 8 (11 questions: one full, one partial) give what each prompt gives alone.
        let generator = Generator(model: model)
        let stops: Set<Int32> = [3, 0]
        for (question, answer) in zip(evaluation.questions, first.answers) {
            let prompt = evaluation.encoder.encodePrompt(question.prompt).map(Int32.init)
            let alone = try generator.generate(prompt, options: GenerationOptions(maxNewTokens: 6, stopTokens: stops))
            XCTAssertEqual(answer.tokenCount, alone.tokens.count)
            let said = alone.stopReason == .endOfSequence ? Array(alone.tokens.dropLast()) : alone.tokens
            XCTAssertEqual(answer.text, Self.tokenizer.decode(said.map(Int.init)))
        }
    }

    func testEndOfTurnCountsAndIsStrippedButEndOfTextIsNotAnAnswer() throws {
        let evaluation = try evaluation(questions: 3)
        let endsTurn = try evaluation.evaluate(modelAlwaysSaying(evaluation.encoder.endOfTurnID))
        for answer in endsTurn.answers {
            XCTAssertEqual(answer.tokenCount, 1)
            XCTAssertEqual(answer.text, "", "the end-of-turn token is not part of the text")
            XCTAssertTrue(answer.endedTurn)
            XCTAssertFalse(answer.isChatAnswer, "an empty turn is no answer")
        }
        XCTAssertEqual(endsTurn.scorecard.meanLength, 1)

        // gpt2-tiny's end-of-sequence token (0) stops generation too, but is not chat form.
        let endsText = try evaluation.evaluate(modelAlwaysSaying(0))
        XCTAssertEqual(endsText.answers.map(\.endedTurn), [false, false, false])
        XCTAssertEqual(endsText.answers.map(\.tokenCount), [1, 1, 1])
        XCTAssertEqual(endsText.scorecard.answerRate, 0)
    }

    func testBadSettingsAreRejected() throws {
        let encoder = try ChatEncoder(tokenizer: Self.tokenizer, template: .chatML)
        let judge = TinyWorldJudge(world: Self.world)
        XCTAssertThrowsError(try ChatEvaluation(encoder: encoder, questions: [], judge: judge))
        let some = Array(TinyWorldChats(world: Self.world).evaluation.prefix(1))
        XCTAssertThrowsError(
            try ChatEvaluation(encoder: encoder, questions: some, judge: judge, settings: .init(batchSize: 0)))
    }

    func testQuestionsFileRoundTrips() throws {
        let questions = Array(TinyWorldChats(world: Self.world).evaluation.prefix(4))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("eval-questions-\(getpid()).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        let lines = try questions.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try (lines.joined(separator: "\n") + "\n\n").write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ChatEvaluation.readQuestions(file), questions)
        try (lines[0] + "\n{\"prompt\": 3}\n").write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ChatEvaluation.readQuestions(file)) { XCTAssertTrue("\($0)".contains(":2:"), "\($0)") }
    }

    // MARK: Log-probs and KL

    /// Prompts and completions of different lengths, one completion empty.
    private let prompts: [[Int32]] = [[5, 17, 42], [9], [300, 2, 3, 44, 45, 46, 7], [11, 12]]
    private let completions: [[Int32]] = [[8, 9, 10, 3], [399, 0], [], [1, 2, 3, 4, 5, 6, 7, 8, 9]]

    /// Each completion's log-probs from the full logits of its sequence alone, log-softmax on the host.
    private func directLogProbs(_ model: LanguageModel) throws -> [[Float]] {
        try zip(prompts, completions).map { prompt, completion in
            let sequence = prompt + completion
            let ids = try IntTensor(device: model.parameters.device, shape: [sequence.count], values: sequence)
            let logits = try model.logits(TokenBatch(ids: ids, batch: 1, length: sequence.count)).values()
            let vocabulary = model.config.vocabSize
            return completion.indices.map { t in
                let row = logits[((prompt.count + t - 1) * vocabulary)..<((prompt.count + t) * vocabulary)].map(
                    Double.init)
                let top = row.max()!
                let logSumExp = top + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - top) })
                return Float(row[Int(completion[t])] - logSumExp)
            }
        }
    }

    private func assertLogProbsMatchDirect(_ model: LanguageModel, file: StaticString = #filePath, line: UInt = #line)
        throws
    {
        let batched = try model.completionLogProbs(of: completions, after: prompts, batchSize: 3)
        let direct = try directLogProbs(model)
        XCTAssertEqual(batched.map(\.count), completions.map(\.count), file: file, line: line)
        let tolerance = Tolerance(absolute: 1e-4, relative: 1e-4)
        XCTAssertNil(tolerance.firstMismatch(batched.flatMap { $0 }, direct.flatMap { $0 }), file: file, line: line)
        XCTAssertTrue(batched.joined().allSatisfy { $0 <= 0 && $0.isFinite }, file: file, line: line)
    }

    func testCompletionLogProbsEqualDirectComputationOnReference() throws {
        try assertLogProbsMatchDirect(fixtureModel("llama-tiny", device: TestDevices.reference()))
        try assertLogProbsMatchDirect(fixtureModel("gpt2-tiny", device: TestDevices.reference()))
    }

    func testCompletionLogProbsEqualDirectComputationOnOpenCL() throws {
        try assertLogProbsMatchDirect(fixtureModel("llama-tiny"))
        try assertLogProbsMatchDirect(fixtureModel("gpt2-tiny"))
    }

    func testCompletionLogProbsRejectBadInput() throws {
        let model = try fixtureModel("llama-tiny")
        XCTAssertThrowsError(try model.completionLogProbs(of: [[1]], after: [[]])) {
            XCTAssertTrue("\($0)".contains("empty"), "\($0)")
        }
        XCTAssertThrowsError(try model.completionLogProbs(of: [[1]], after: [[1], [2]]))
        XCTAssertThrowsError(try model.completionLogProbs(of: [[Int32](repeating: 1, count: 128)], after: [[1]])) {
            XCTAssertTrue("\($0)".contains("128"), "\($0)")
        }
        XCTAssertEqual(try model.completionLogProbs(of: [[], []], after: [[1], [2, 3]]), [[], []])
    }

    func testKLIsZeroAgainstAnIdenticalModelAndDeterministicAgainstAnother() throws {
        let evaluation = try evaluation(questions: 5)
        let model = try fixtureModel("gpt2-tiny")
        XCTAssertEqual(try evaluation.klDivergence(of: model, from: model), 0)
        XCTAssertEqual(
            try evaluation.klDivergence(of: model, from: fixtureModel("gpt2-tiny")), 0, "same weights, same log-probs")

        let other = try fixtureModel("gpt2-tiny")
        let bias = try other.parameters.tensor("transformer.ln_f.bias").values()
        try other.parameters.load(
            "transformer.ln_f.bias", values: bias.enumerated().map { $0.element + Float($0.offset % 3) * 0.5 })
        let kl = try evaluation.klDivergence(of: model, from: other)
        XCTAssertTrue(kl.isFinite && kl != 0, "\(kl)")
        XCTAssertEqual(try evaluation.klDivergence(of: model, from: other), kl)
        XCTAssertEqual(try evaluation.evaluate(model, klReference: other).scorecard.klToSFT, kl)
        XCTAssertThrowsError(
            try evaluation.klDivergence(of: model, from: fixtureModel("llama-tiny").withLargerVocabulary()))
    }
}

extension LanguageModel {
    /// A fresh model like this one but with one more token in its vocabulary.
    fileprivate func withLargerVocabulary() throws -> LanguageModel {
        var config = self.config
        config.vocabSize += 1
        let store = try ParameterStore(
            device: parameters.device, specs: ModelParameters.specs(for: config), label: "larger vocabulary")
        return try makeLanguageModel(config: config, parameters: store)
    }
}
