import Datasets
import Formats
import Foundation
import Inference

/// Stage two of Constitutional AI (RL from AI feedback; Bai et al., arXiv:2212.08073, §4): for
/// each prompt, the policy samples two answers, the feedback model is asked which better follows
/// a principle drawn for that prompt, in both orders (averaged, which cancels a preference for
/// the first or second position), and the probability becomes a soft-labelled preference pair
/// (`FeedbackLoop.aiLabels`).
public enum AILabeling {
    /// One prompt's preference line `{"prompt", "chosen", "rejected", "chosen_probability"}`,
    /// with the principle it was judged by.
    public struct Record: Codable, Equatable, Sendable {
        public var prompt: [ChatMessage]
        public var chosen: [ChatMessage]
        public var rejected: [ChatMessage]
        public var chosenProbability: Double
        public var principle: String

        enum CodingKeys: String, CodingKey {
            case prompt, chosen, rejected, principle
            case chosenProbability = "chosen_probability"
        }
    }

}

extension FeedbackLoop {
    /// Stage two's preference of every prompt whose two answers differ, in order (identical answers
    /// say nothing and are left out); `progress(done, total)` after each prompt.
    public func aiLabels(progress: (Int, Int) -> Void = { _, _ in }) throws -> [AILabeling.Record] {
        var records: [AILabeling.Record] = []
        for (index, prompt) in prompts.enumerated() {
            defer { progress(index + 1, prompts.count) }
            let principle = constitution.principle(seed: seed, index: index)
            let answers = try policy.answers(to: prompt, count: 2, seed: FeedbackSeeds.mix(seed, UInt64(index), 2))
            guard answers[0] != answers[1] else { continue }
            let forward = try feedback.preferenceProbability(
                prompt: prompt, a: answers[0], b: answers[1], principle: principle)
            let backward = try feedback.preferenceProbability(
                prompt: prompt, a: answers[1], b: answers[0], principle: principle)
            let first = (forward + (1 - backward)) / 2
            let (chosen, rejected) = first >= 0.5 ? (answers[0], answers[1]) : (answers[1], answers[0])
            records.append(
                AILabeling.Record(
                    prompt: prompt, chosen: [.assistant(chosen)], rejected: [.assistant(rejected)],
                    chosenProbability: max(first, 1 - first), principle: principle.name))
        }
        return records
    }
}
