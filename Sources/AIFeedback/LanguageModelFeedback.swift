import Formats
import Foundation
import Inference

/// A chat model as the feedback model, in the Constitutional AI form (Bai et al.,
/// arXiv:2212.08073): the critique request follows the conversation and its answer as the next
/// user turn, the revision request follows the critique; the comparison shows the conversation,
/// the principle's question and the two answers as (A) and (B), and P(A) is read from the
/// model's log-probabilities of "A" and "B" as the first token of its reply.
public struct LanguageModelFeedback: FeedbackModel {
    public let sampler: ChatAnswerSampler
    public let name: String
    /// The seed of the critiques and revisions (greedy when the sampler's temperature is 0).
    public var seed: UInt64

    public init(sampler: ChatAnswerSampler, name: String, seed: UInt64 = 0) {
        self.sampler = sampler
        self.name = name
        self.seed = seed
    }

    public func critique(prompt: [ChatMessage], answer: String, principle: Principle) throws -> String {
        try reply(Self.critiqueRequest(prompt: prompt, answer: answer, principle: principle))
    }

    public func revise(prompt: [ChatMessage], answer: String, critique: String, principle: Principle) throws -> String {
        try reply(Self.revisionRequest(prompt: prompt, answer: answer, critique: critique, principle: principle))
    }

    public func preferenceProbability(prompt: [ChatMessage], a: String, b: String, principle: Principle) throws
        -> Double
    {
        let tokenizer = sampler.encoder.tokenizer
        guard let tokenA = tokenizer.encode("A", addSpecialTokens: false).first,
            let tokenB = tokenizer.encode("B", addSpecialTokens: false).first, tokenA != tokenB
        else {
            throw FeedbackError("the feedback model's tokenizer has no distinct first tokens for \"A\" and \"B\"")
        }
        let logProbs = try sampler.firstTokenLogProbs(
            prompt: Self.comparison(prompt: prompt, a: a, b: b, principle: principle), candidates: [tokenA, tokenB])
        // P(A) among the two choices: σ(log P(A) − log P(B)).
        return 1 / (1 + exp(Double(logProbs[1] - logProbs[0])))
    }

    /// The conversation that asks which of `a` and `b` follows `principle` better, answered by
    /// "A" or "B": the conversation so far (a line per message, "role: content"), the
    /// principle's question, the answers after "A:" and "B:", and "A or B?".
    public static func comparison(prompt: [ChatMessage], a: String, b: String, principle: Principle) -> [ChatMessage] {
        let conversation = prompt.map { "\($0.role.rawValue): \($0.content)" }.joined(separator: "\n")
        return [.user("\(conversation)\n\(principle.comparisonQuestion)\nA: \(a)\nB: \(b)\nA or B?")]
    }

    /// The conversation that asks for a critique of `answer` under `principle`.
    public static func critiqueRequest(prompt: [ChatMessage], answer: String, principle: Principle) -> [ChatMessage] {
        prompt + [.assistant(answer), .user(principle.critiqueRequest)]
    }

    /// The conversation that asks for `answer` revised by `critique` under `principle`.
    public static func revisionRequest(prompt: [ChatMessage], answer: String, critique: String, principle: Principle)
        -> [ChatMessage]
    {
        critiqueRequest(prompt: prompt, answer: answer, principle: principle) + [
            .assistant(critique), .user(principle.revisionRequest),
        ]
    }

    private func reply(_ messages: [ChatMessage]) throws -> String {
        try sampler.answers(to: messages, count: 1, seed: seed)[0]
    }
}

/// An AI-feedback error, with what to do about it.
public struct FeedbackError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
