import Formats
import Foundation
import TinyWorld

/// The tiny world's programmatic judge as a feedback model, for testing the AI-feedback loop
/// end to end without a trained critic. A principle is judged by the judge component its name
/// names (`correct`, `follows_system_prompt`, `concise`), any other name by the judge's whole
/// score. It knows the world, so its revision is the reference answer, and its comparison is
/// σ(4·(s_a − s_b)) of the two answers' scores under the principle.
public struct JudgeFeedback: FeedbackModel {
    public let judge: TinyWorldJudge
    public var name: String { "tiny-world judge" }

    public init(judge: TinyWorldJudge) {
        self.judge = judge
    }

    /// The score of `answer` under `principle` in [0, 1]; nil when the judge cannot judge the question.
    func score(prompt: [ChatMessage], answer: String, principle: Principle) -> Double? {
        guard let verdict = judge.judge(prompt: prompt, answer: answer) else { return nil }
        switch principle.name {
        case "correct": return verdict.correct
        case "follows_system_prompt": return verdict.followsSystemPrompt
        case "concise": return verdict.concise
        default: return verdict.score
        }
    }

    /// The judge's mean score of `answers` to `prompts` (0 for a question it cannot judge).
    public func meanScore(prompts: [[ChatMessage]], answers: [String]) -> Double {
        let scores = zip(prompts, answers).map { judge.judge(prompt: $0, answer: $1)?.score ?? 0 }
        return scores.reduce(0, +) / Double(max(scores.count, 1))
    }

    /// "Fine." when the answer is right under the principle, else its faults under it ("Wrong.",
    /// "Wrong form.", "Too long."; every fault for a principle the judge has no component for):
    /// terse, for models that see 128 tokens.
    public func critique(prompt: [ChatMessage], answer: String, principle: Principle) throws -> String {
        guard let verdict = judge.judge(prompt: prompt, answer: answer) else { return "I cannot judge this." }
        let faults = [
            ("correct", verdict.correct, "Wrong."),
            ("follows_system_prompt", verdict.followsSystemPrompt, "Wrong form."),
            ("concise", verdict.concise, "Too long."),
        ]
        let named = faults.contains { $0.0 == principle.name }
        let found = faults.filter { (!named || $0.0 == principle.name) && $0.1 < 1 }.map(\.2)
        return found.isEmpty ? "Fine." : found.joined(separator: " ")
    }

    public func revise(prompt: [ChatMessage], answer: String, critique: String, principle: Principle) throws -> String {
        guard let judged = score(prompt: prompt, answer: answer, principle: principle), judged < 1,
            let reference = judge.referenceAnswer(prompt: prompt)
        else { return answer }
        return reference
    }

    public func preferenceProbability(prompt: [ChatMessage], a: String, b: String, principle: Principle) throws
        -> Double
    {
        let first = score(prompt: prompt, answer: a, principle: principle) ?? 0.5
        let second = score(prompt: prompt, answer: b, principle: principle) ?? 0.5
        return 1 / (1 + exp(-4 * (first - second)))
    }
}
