import Core
import Datasets
import Formats

/// SFT data that teaches a chat model to be a feedback model, written by a feedback model that
/// already is one (the tiny world's judge): the critique, revision and comparison conversations
/// of `LanguageModelFeedback`, with the teacher's replies as the trained completions.
///
/// Each preference pair gives, under every principle of the constitution: for each of its two
/// answers, the critique request answered with the teacher's critique and the revision request
/// answered with its revision; and the comparison in both orders of the answers, answered "A" or
/// "B" by the teacher's preference (left out when the teacher calls it even). Every principle,
/// not one drawn, so that the few answers that fail a principle are all in the data.
public struct FeedbackTasks {
    /// One SFT line `{"prompt", "completion"}`: only the completion is trained.
    public struct Line: Codable, Equatable, Sendable {
        public var prompt: [ChatMessage]
        public var completion: [ChatMessage]
        /// "critique", "revision" or "comparison".
        public var task: String
        public var principle: String
    }

    public let teacher: FeedbackModel
    public let constitution: Constitution

    public init(teacher: FeedbackModel, constitution: Constitution) {
        self.teacher = teacher
        self.constitution = constitution
    }

    /// The lines of every pair, in order.
    public func lines(_ pairs: [PreferencePair]) throws -> [Line] {
        var lines: [Line] = []
        for pair in pairs {
            let answers = [pair.chosen, pair.rejected].map { $0.map(\.content).joined(separator: "\n") }
            for principle in constitution.principles {
                for answer in answers {
                    let critique = try teacher.critique(prompt: pair.prompt, answer: answer, principle: principle)
                    let revision = try teacher.revise(
                        prompt: pair.prompt, answer: answer, critique: critique, principle: principle)
                    lines.append(
                        Line(
                            prompt: LanguageModelFeedback.critiqueRequest(
                                prompt: pair.prompt, answer: answer, principle: principle),
                            completion: [.assistant(critique)], task: "critique", principle: principle.name))
                    lines.append(
                        Line(
                            prompt: LanguageModelFeedback.revisionRequest(
                                prompt: pair.prompt, answer: answer, critique: critique, principle: principle),
                            completion: [.assistant(revision)], task: "revision", principle: principle.name))
                }
                for (a, b) in [(answers[0], answers[1]), (answers[1], answers[0])] {
                    let first = try teacher.preferenceProbability(
                        prompt: pair.prompt, a: a, b: b, principle: principle)
                    guard abs(first - 0.5) > 1e-6 else { continue }
                    lines.append(
                        Line(
                            prompt: LanguageModelFeedback.comparison(
                                prompt: pair.prompt, a: a, b: b, principle: principle),
                            completion: [.assistant(first > 0.5 ? "A" : "B")], task: "comparison",
                            principle: principle.name))
                }
            }
        }
        return lines
    }

    /// `pairs` without those whose question names one of `subjects` (the held-out questions'
    /// entities, so that the feedback model never sees them).
    public static func pairs(_ pairs: [PreferencePair], avoiding subjects: Set<String>) -> [PreferencePair] {
        pairs.filter { pair in
            let question = pair.prompt.last { $0.role == .user }?.content ?? ""
            return !subjects.contains { question.contains($0) }
        }
    }
}
