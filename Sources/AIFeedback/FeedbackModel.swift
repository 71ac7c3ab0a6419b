import Formats

/// What the AI-feedback loop asks of a feedback model: to critique an answer under a principle,
/// to revise it by the critique, and to say how likely it is that the first of two answers
/// follows a principle better. A chat model folder (`LanguageModelFeedback`) and the tiny
/// world's programmatic judge (`JudgeFeedback`) implement it, so the loop runs unchanged with
/// either.
public protocol FeedbackModel {
    /// A short name for reports (a model folder's path, "tiny-world judge").
    var name: String { get }

    /// The critique of `answer` to the conversation `prompt` under `principle`.
    func critique(prompt: [ChatMessage], answer: String, principle: Principle) throws -> String

    /// `answer` rewritten by `critique` under `principle`.
    func revise(prompt: [ChatMessage], answer: String, critique: String, principle: Principle) throws -> String

    /// The probability, in [0, 1], that answer `a` follows `principle` better than answer `b`.
    func preferenceProbability(prompt: [ChatMessage], a: String, b: String, principle: Principle) throws -> Double
}
