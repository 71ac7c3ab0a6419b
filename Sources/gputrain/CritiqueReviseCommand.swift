import AIFeedback
import ArgumentParser
import Foundation

/// `gputrain critique-revise`: Constitutional AI's stage one, SFT data of revised answers.
struct CritiqueReviseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "critique-revise",
        abstract: "Answer each prompt, have a feedback model critique and revise the answer under a principle.",
        discussion: "Writes SFT data, one {\"prompt\", \"completion\"} line per prompt with the revision as the "
            + "completion, keeping \"original\", \"critique\" and \"principle\" for inspection (docs/feedback.md).")

    @OptionGroup var options: FeedbackLoopOptions

    func run() throws {
        let records = try options.run("critique-revise") { loop, progress in
            try loop.critiqueRevise(progress: progress)
        }
        let revised = records.filter { $0.completion.first?.content != $0.original }.count
        print("\(records.count) answers, \(revised) revised, written to \(options.out)")
        if let world = options.judge {
            let judge = JudgeFeedback(judge: try JudgeFeedback.loadJudge(worldFolder: URL(fileURLWithPath: world)))
            let prompts = records.map(\.prompt)
            print(
                String(
                    format: "judge score: originals %.3f, revisions %.3f",
                    judge.meanScore(prompts: prompts, answers: records.map(\.original)),
                    judge.meanScore(prompts: prompts, answers: records.map { $0.completion[0].content })))
        }
    }
}
