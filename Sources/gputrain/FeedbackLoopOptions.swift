import AIFeedback
import ArgumentParser
import Formats
import Foundation

/// The options of the AI-feedback commands (`critique-revise`, `ai-label`): the policy that
/// answers, the prompts, the constitution, the feedback model and the output file.
struct FeedbackLoopOptions: ParsableArguments {
    @Option(help: "The chat model folder whose answers are judged (e.g. an SFT run's final/).")
    var model: String

    @Option(help: "JSONL of {\"prompt\": string or message list} lines (other fields are ignored).")
    var prompts: String

    @Option(help: "constitution.yaml: principles with name, critique_request, revision_request, comparison_question.")
    var constitution: String

    @Option(help: "The output JSONL file.")
    var out: String

    @Option(help: "A chat model folder that critiques, revises and compares (the feedback model).")
    var feedbackModel: String?

    @Option(help: "Judge with the tiny world's programmatic judge of this world folder instead (for testing the loop).")
    var judge: String?

    @Flag(help: "Replace --out if it exists.")
    var overwrite = false

    @OptionGroup var sampling: SamplingArguments

    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        guard (feedbackModel == nil) != (judge == nil) else {
            throw ValidationError("give exactly one of --feedback-model DIR and --judge WORLD_FOLDER")
        }
        if !overwrite, FileManager.default.fileExists(atPath: out) {
            throw ValidationError("\(out) exists; pass --overwrite to replace it")
        }
    }

    /// Reads the inputs, opens the device and both models, runs `work` with progress on standard
    /// error, and writes its lines to `--out` at once (nothing is written if anything fails).
    func run<Record: Encodable>(
        _ title: String, _ work: (FeedbackLoop, (Int, Int) -> Void) throws -> [Record]
    ) throws -> [Record] {
        let source: FeedbackSource =
            judge.map { .judge(world: URL(fileURLWithPath: $0)) } ?? .model(URL(fileURLWithPath: feedbackModel!))
        let loop = try FeedbackLoop.load(
            model: URL(fileURLWithPath: model), prompts: URL(fileURLWithPath: prompts),
            constitution: URL(fileURLWithPath: constitution), feedback: source,
            openDevice: { try deviceOptions.open() },
            options: sampling.options(defaultMaxTokens: 64, defaultTemperature: 1))
        let started = Date()
        var shown = Date.distantPast
        let records = try work(loop) { done, total in
            // A line a second at most, and the last one.
            guard done == total || Date().timeIntervalSince(shown) >= 1 else { return }
            shown = Date()
            let seconds = Date().timeIntervalSince(started)
            let eta = Double(total - done) * seconds / Double(max(done, 1))
            FileHandle.standardError.write(
                Data(String(format: "%@: %d/%d prompts, %.1f s, ETA %.0f s\n", title, done, total, seconds, eta).utf8))
        }
        try AtomicFile.write(try JSONLines.data(records), to: URL(fileURLWithPath: out))
        return records
    }
}
