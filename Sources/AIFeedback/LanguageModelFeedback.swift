import Formats
import Foundation

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
        try reply(prompt + [.assistant(answer), .user(principle.critiqueRequest)])
    }

    public func revise(prompt: [ChatMessage], answer: String, critique: String, principle: Principle) throws -> String {
        try reply(
            prompt + [
                .assistant(answer), .user(principle.critiqueRequest), .assistant(critique),
                .user(principle.revisionRequest),
            ])
    }

    public func preferenceProbability(prompt: [ChatMessage], a: String, b: String, principle: Principle) throws
        -> Double
    {
        let conversation = prompt.map { "\($0.role.rawValue): \($0.content)" }.joined(separator: "\n")
        let question = """
            Consider this conversation:
            \(conversation)

            \(principle.comparisonQuestion)
            (A) \(a)
            (B) \(b)
            Answer with A or B.
            """
        let tokenizer = sampler.encoder.tokenizer
        guard let tokenA = tokenizer.encode("A", addSpecialTokens: false).first,
            let tokenB = tokenizer.encode("B", addSpecialTokens: false).first, tokenA != tokenB
        else {
            throw FeedbackError("the feedback model's tokenizer has no distinct first tokens for \"A\" and \"B\"")
        }
        let logProbs = try sampler.firstTokenLogProbs(prompt: [.user(question)], candidates: [tokenA, tokenB])
        // P(A) among the two choices: σ(log P(A) − log P(B)).
        return 1 / (1 + exp(Double(logProbs[1] - logProbs[0])))
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
