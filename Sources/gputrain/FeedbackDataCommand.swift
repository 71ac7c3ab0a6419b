import AIFeedback
import ArgumentParser
import Datasets
import Formats
import Foundation
import Pipeline

/// `gputrain data feedback`: SFT data that teaches a tiny-world model to be a feedback model.
struct FeedbackDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedback",
        abstract: "Write SFT data that teaches a model to critique, revise and compare answers under a constitution.",
        discussion: "The tiny world's judge is the teacher, on the world's preference pairs whose questions name no "
            + "entity of the held-out questions (eval_questions.jsonl). Lines are {\"prompt\", \"completion\", "
            + "\"task\", \"principle\"}; train with gputrain sft and pass the model as --feedback-model "
            + "(docs/feedback.md).")

    @Option(help: "The tiny-world folder (world.json, preferences.jsonl, eval_questions.jsonl).")
    var world: String

    @Option(help: "constitution.yaml.")
    var constitution: String

    @Option(help: "The output JSONL file.")
    var out: String

    @Flag(help: "Replace --out if it exists.")
    var overwrite = false

    func run() throws {
        if !overwrite, FileManager.default.fileExists(atPath: out) {
            throw ValidationError("\(out) exists; pass --overwrite to replace it")
        }
        let folder = URL(fileURLWithPath: world)
        let constitution = try Constitution.read(URL(fileURLWithPath: constitution))
        let teacher = JudgeFeedback(judge: try JudgeFeedback.loadJudge(worldFolder: folder))
        let heldOut = try ChatEvaluation.readQuestions(folder.appendingPathComponent("eval_questions.jsonl"))
        let all = try PreferenceDataset.read(folder.appendingPathComponent("preferences.jsonl"))
        let pairs = FeedbackTasks.pairs(all, avoiding: Set(heldOut.map(\.subject)))
        let lines = try FeedbackTasks(teacher: teacher, constitution: constitution).lines(pairs)
        try AtomicFile.write(try JSONLines.data(lines), to: URL(fileURLWithPath: out))
        let counts = Dictionary(grouping: lines, by: \.task).mapValues(\.count).sorted { $0.key < $1.key }
        print(
            "\(lines.count) lines from \(pairs.count) of \(all.count) pairs ("
                + counts.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ") written to \(out)")
    }
}
