import AIFeedback
import ArgumentParser
import Formats
import Foundation
import Inference
import Pipeline
import TinyWorld

/// `gputrain judge`: a chat model's answers to tiny-world questions, judged by the world's judge.
struct JudgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Score a chat model with the tiny world's programmatic judge (greedy answers to held-out questions).",
        discussion: "Prints the scorecard as JSON: judge_score (the mean of correct, follows_system_prompt and "
            + "concise), its components, accuracy and mean answer length, as the pipeline's report.json has them.")

    @Option(help: "The chat model folder (e.g. an SFT run's final/).")
    var model: String?

    @Option(
        help:
            "Judge the answers of a critique-revise output instead of a model: the mean score of its completions and of its originals."
    )
    var revisions: String?

    @Option(help: "The tiny-world folder (with world.json).")
    var world: String

    @Option(help: "The questions (default: the world folder's eval_questions.jsonl).")
    var questions: String?

    @Option(help: "New tokens per answer at most.")
    var maxTokens = 32

    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        guard (model == nil) != (revisions == nil) else { throw ValidationError("give one of --model and --revisions") }
    }

    func run() throws {
        let folderURL = URL(fileURLWithPath: world)
        let judge = try JudgeFeedback.loadJudge(worldFolder: folderURL)
        if let revisions {
            let records = try CritiqueRevision.Record.read(URL(fileURLWithPath: revisions))
            let feedback = JudgeFeedback(judge: judge)
            let prompts = records.map(\.prompt)
            print(
                String(
                    format: "{\"originals\": %.4f, \"revisions\": %.4f}",
                    feedback.meanScore(prompts: prompts, answers: records.map(\.original)),
                    feedback.meanScore(prompts: prompts, answers: records.map { $0.completion.first?.content ?? "" })))
            return
        }
        let questionsURL =
            questions.map { URL(fileURLWithPath: $0) }
            ?? folderURL.appendingPathComponent("eval_questions.jsonl")
        let device = try deviceOptions.open()
        let folder = try ChatModelFolder(url: URL(fileURLWithPath: model!), field: "--model")
        let evaluation = try ChatEvaluation(
            encoder: folder.encoder, questions: try ChatEvaluation.readQuestions(questionsURL), judge: judge,
            settings: ChatEvaluation.Settings(maxNewTokens: maxTokens))
        let result = try evaluation.evaluate(try folder.loadModel(device: device, trainable: false))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(result.scorecard), as: UTF8.self))
    }
}
