import AIFeedback
import ArgumentParser
import Foundation

/// `gputrain ai-label`: Constitutional AI's stage two, preferences from a feedback model.
struct AILabelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ai-label",
        abstract: "Sample two answers per prompt and label which better follows a principle, by a feedback model.",
        discussion: "Writes preference lines {\"prompt\", \"chosen\", \"rejected\", \"chosen_probability\", "
            + "\"principle\"}: the probability is the feedback model's, averaged over both orders of the answers "
            + "(docs/feedback.md). The reward model and DPO (sigmoid or conservative) train on these soft labels.")

    @OptionGroup var options: FeedbackLoopOptions

    func run() throws {
        let records = try options.run("ai-label") { loop, progress in
            try loop.aiLabels(progress: progress)
        }
        print("\(records.count) preference pairs written to \(options.out)")
    }
}
