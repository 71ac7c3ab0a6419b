import Core
import Datasets
import Formats
import Foundation
import Models
import Tensors
import TinyWorld

/// Asks a chat model the held-out tiny-world questions and scores its answers: the judge's
/// verdict per answer, optionally the reward model's score, and the KL divergence to a
/// reference model (the SFT model), summed up in a `ModelScorecard`.
///
/// Answers are generated in batches (`Settings.batchSize` prompts per `Generator` call), greedily
/// by default, each prompt ending with an open assistant turn; a generation stops at the
/// template's end-of-turn token or one of the model's end-of-sequence tokens. Every step is
/// deterministic: the same model and settings give the same answers and figures.
public struct ChatEvaluation {
    /// How answers are generated.
    public struct Settings: Sendable, Equatable {
        /// New tokens per answer at most.
        public var maxNewTokens: Int
        /// How answers are chosen (greedy by default).
        public var sampling: SamplingOptions
        /// Prompts generated together.
        public var batchSize: Int
        /// Seed of the temperature-1 samples on which the KL to the reference is measured.
        public var klSeed: UInt64

        public init(
            maxNewTokens: Int = 32, sampling: SamplingOptions = .greedy, batchSize: Int = 16, klSeed: UInt64 = 0
        ) {
            self.maxNewTokens = maxNewTokens
            self.sampling = sampling
            self.batchSize = batchSize
            self.klSeed = klSeed
        }
    }

    /// A reward model's score of `answer` given the conversation `prompt`.
    public typealias Reward = (_ prompt: [ChatMessage], _ answer: String) throws -> Double

    /// What an evaluation found.
    public struct Result: Sendable, Equatable {
        /// One answer per question, in the questions' order.
        public var answers: [ChatAnswer]
        public var scorecard: ModelScorecard
    }

    public let encoder: ChatEncoder
    public let questions: [TinyWorldQuestion]
    public let judge: TinyWorldJudge
    public let settings: Settings
    /// Each question's prompt, tokenized once.
    private let prompts: [[Int32]]

    /// An evaluation of `questions` (at least one), rendered by `encoder` and scored by `judge`.
    public init(
        encoder: ChatEncoder, questions: [TinyWorldQuestion], judge: TinyWorldJudge, settings: Settings = Settings()
    ) throws {
        func fail(_ message: String) -> DeviceError { .invalidArgument(operation: "ChatEvaluation", message: message) }
        guard !questions.isEmpty else { throw fail("no questions to ask") }
        guard settings.batchSize > 0 else { throw fail("batch size \(settings.batchSize) must be positive") }
        guard settings.maxNewTokens > 0 else { throw fail("max new tokens \(settings.maxNewTokens) must be positive") }
        try settings.sampling.validate()
        self.encoder = encoder
        self.questions = questions
        self.judge = judge
        self.settings = settings
        prompts = questions.map { encoder.encodePrompt($0.prompt).map(Int32.init) }
    }

    /// Answers every question with `model` and scores the answers. With `reward`, each answer
    /// gets the reward model's score; with `klReference`, `kl_to_sft` is measured against it
    /// (exactly 0 when it is `model` itself).
    public func evaluate(_ model: LanguageModel, reward: Reward? = nil, klReference: LanguageModel? = nil) throws
        -> Result
    {
        let answers = try answer(with: model, reward: reward)
        let kl = try klReference.map { try klDivergence(of: model, from: $0) }
        return Result(answers: answers, scorecard: ModelScorecard(answers: answers, klToSFT: kl))
    }

    /// `model`'s answers to every question, judged (and scored by `reward` when given).
    public func answer(with model: LanguageModel, reward: Reward? = nil) throws -> [ChatAnswer] {
        let endOfTurn = Int32(encoder.endOfTurnID)
        let options = generationOptions(model, sampling: settings.sampling)
        let generations = try generate(model, options: options)
        return try zip(questions, generations).map { question, generation in
            let stopped = generation.stopReason == .endOfSequence
            let text = encoder.tokenizer.decode(
                (stopped ? generation.tokens.dropLast() : generation.tokens[...]).map(Int.init))
            return ChatAnswer(
                question: question, text: text, tokenCount: generation.tokens.count,
                endedTurn: stopped && generation.tokens.last == endOfTurn,
                verdict: judge.judge(prompt: question.prompt, answer: text),
                reward: try reward?(question.prompt, text))
        }
    }

    /// The KL divergence of `model` from `reference` on the questions' prompts: the mean over
    /// prompts of Σ_t [log π(y_t) − log π_ref(y_t)], where y is an answer `model` samples at
    /// temperature 1 (seeded by `klSeed`, apart from the greedy answers) and both log-probs are
    /// taken by teacher forcing of prompt + answer. A single-sample estimate: it can come out
    /// slightly negative, and it is exactly 0 when `reference` is `model`.
    public func klDivergence(of model: LanguageModel, from reference: LanguageModel) throws -> Double {
        if reference === model { return 0 }
        guard reference.config.vocabSize == model.config.vocabSize else {
            throw DeviceError.invalidArgument(
                operation: "ChatEvaluation KL",
                message: "the reference's vocabulary has \(reference.config.vocabSize) tokens, "
                    + "the model's \(model.config.vocabSize); they must share one tokenizer")
        }
        let sampling = SamplingOptions(temperature: 1, seed: settings.klSeed)
        let completions = try generate(model, options: generationOptions(model, sampling: sampling)).map(\.tokens)
        let own = try model.completionLogProbs(of: completions, after: prompts, batchSize: settings.batchSize)
        let theirs = try reference.completionLogProbs(of: completions, after: prompts, batchSize: settings.batchSize)
        let perPrompt = zip(own, theirs).map { zip($0, $1).reduce(0.0) { $0 + Double($1.0) - Double($1.1) } }
        return perPrompt.reduce(0, +) / Double(perPrompt.count)
    }

    /// Generation settings: stop at the end of the turn or the model's end of sequence.
    private func generationOptions(_ model: LanguageModel, sampling: SamplingOptions) -> GenerationOptions {
        GenerationOptions(
            maxNewTokens: settings.maxNewTokens,
            stopTokens: encoder.stopTokens(for: model.config),
            sampling: sampling)
    }

    /// The generations of every prompt, `batchSize` prompts per generator call. Each batch draws
    /// from its own seed, so that row i of every batch does not repeat the same random stream.
    private func generate(_ model: LanguageModel, options: GenerationOptions) throws -> [Generation] {
        let generator = Generator(model: model)
        return try stride(from: 0, to: prompts.count, by: settings.batchSize).flatMap { start in
            var batchOptions = options
            batchOptions.sampling.seed = options.sampling.seed ^ (UInt64(start) &* 0x9E37_79B9_7F4A_7C15)
            return try generator.generate(
                Array(prompts[start..<min(start + settings.batchSize, prompts.count)]), options: batchOptions)
        }
    }

    /// The questions of an `eval_questions.jsonl` file (one `TinyWorldQuestion` per line; blank
    /// lines are skipped). A malformed line is an error naming the file and line.
    public static func readQuestions(_ url: URL) throws -> [TinyWorldQuestion] {
        let decoder = JSONDecoder()
        return try TextLines.read(url).filter { !$0.isBlank }.map { line in
            do {
                return try decoder.decode(TinyWorldQuestion.self, from: Data(line.text.utf8))
            } catch {
                throw DatasetError.line(url.path, line.number, "not an evaluation question (\(error))")
            }
        }
    }
}
