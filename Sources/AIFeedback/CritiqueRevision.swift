import Datasets
import Formats
import Foundation
import Inference

/// Stage one of Constitutional AI (Bai et al., arXiv:2212.08073, §3), `FeedbackLoop.critiqueRevise`:
/// for each prompt, the policy answers, the feedback model critiques the answer under a principle
/// drawn for that prompt, then revises it by the critique. The revisions are SFT data.
public enum CritiqueRevision {
    /// One prompt's outcome: an SFT line `{"prompt", "completion"}` (the revision as the
    /// completion) that keeps the original answer, the critique and the principle for inspection.
    public struct Record: Codable, Equatable, Sendable {
        public var prompt: [ChatMessage]
        public var completion: [ChatMessage]
        public var original: String
        public var critique: String
        public var principle: String

        /// The records of a `critique-revise` output; a line that is not one names the file and line.
        public static func read(_ url: URL) throws -> [Record] {
            try TextLines.read(url).filter { !$0.isBlank }.map { line in
                do {
                    return try JSONDecoder().decode(Record.self, from: Data(line.text.utf8))
                } catch {
                    throw DatasetError.line(
                        url.path, line.number,
                        "not a critique-revise record (prompt, completion, original, "
                            + "critique, principle): \(error)")
                }
            }
        }
    }

}

extension FeedbackLoop {
    /// Stage one's record of every prompt, in order; `progress(done, total)` after each.
    public func critiqueRevise(progress: (Int, Int) -> Void = { _, _ in }) throws -> [CritiqueRevision.Record] {
        try prompts.enumerated().map { index, prompt in
            let principle = constitution.principle(seed: seed, index: index)
            let answer = try policy.answers(to: prompt, count: 1, seed: FeedbackSeeds.mix(seed, UInt64(index), 1))[0]
            let critique = try feedback.critique(prompt: prompt, answer: answer, principle: principle)
            let revision = try feedback.revise(prompt: prompt, answer: answer, critique: critique, principle: principle)
            progress(index + 1, prompts.count)
            return CritiqueRevision.Record(
                prompt: prompt, completion: [.assistant(revision)], original: answer, critique: critique,
                principle: principle.name)
        }
    }
}
