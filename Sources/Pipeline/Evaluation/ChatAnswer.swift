import Datasets
import Formats
import TinyWorld

/// A chat model's answer to one evaluation question, with the judge's verdict and the reward
/// model's score.
public struct ChatAnswer: Codable, Equatable, Sendable {
    public var question: TinyWorldQuestion
    /// The generated text, without the stop token it ended with.
    public var text: String
    /// Tokens generated, the stop token included.
    public var tokenCount: Int
    /// The generation stopped with the chat template's end-of-turn token (not a model's
    /// end-of-text token, nor the token limit).
    public var endedTurn: Bool
    /// The judge's verdict; `nil` when the judge does not know the question (scored as all zeros).
    public var verdict: TinyWorldJudge.Verdict?
    /// The reward model's score, when one was given.
    public var reward: Double?

    enum CodingKeys: String, CodingKey {
        case question, text, verdict, reward
        case tokenCount = "token_count"
        case endedTurn = "ended_turn"
    }

    public init(
        question: TinyWorldQuestion, text: String, tokenCount: Int, endedTurn: Bool,
        verdict: TinyWorldJudge.Verdict?, reward: Double? = nil
    ) {
        self.question = question
        self.text = text
        self.tokenCount = tokenCount
        self.endedTurn = endedTurn
        self.verdict = verdict
        self.reward = reward
    }

    /// The answer is in chat form: the model closed its turn after saying something. A base
    /// model that goes on writing the question list never closes the turn.
    public var isChatAnswer: Bool {
        endedTurn && !text.allSatisfy(\.isWhitespace)
    }

    /// The verdict's components, zeros when the judge gave none.
    var judged: (correct: Double, followsSystemPrompt: Double, concise: Double) {
        (verdict?.correct ?? 0, verdict?.followsSystemPrompt ?? 0, verdict?.concise ?? 0)
    }
}
