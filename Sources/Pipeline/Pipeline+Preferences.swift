import AIFeedback
import Datasets
import Formats
import Foundation
import Inference
import Models

extension Pipeline {
    /// The preference pairs of the reward model and DPO, by `preferences.source`: the world's
    /// generated pairs, the labelled file, or AI labels, made once into `preferences/ai-labels.jsonl`
    /// (the SFT model answers the world's RL prompts; the feedback model labels the pairs).
    func preferenceData() throws -> URL {
        let settings = config.preferences
        switch settings.source {
        case .generated: return data.world.appendingPathComponent("preferences.jsonl")
        case .labeled: return URL(fileURLWithPath: settings.file)
        case .ai:
            let url = root.appendingPathComponent("preferences/ai-labels.jsonl")
            if FileManager.default.fileExists(atPath: url.path) { return url }
            try makeAILabels(at: url)
            return url
        }
    }

    /// Writes the AI-labelled preferences of `preferences.source: ai` to `url`.
    private func makeAILabels(at url: URL) throws {
        let settings = config.preferences
        let started = Date()
        let source: FeedbackSource =
            settings.feedbackModel == "judge"
            ? .judge(world: data.world) : .model(URL(fileURLWithPath: settings.feedbackModel))
        let loop = try FeedbackLoop.load(
            model: finalModel("sft"), prompts: data.world.appendingPathComponent("rl_prompts.jsonl"),
            constitution: URL(fileURLWithPath: settings.constitution), feedback: source, openDevice: { device },
            options: GenerationOptions(
                maxNewTokens: config.eval.maxNewTokens,
                sampling: SamplingOptions(temperature: 1, seed: UInt64(config.data.seed))))
        let records = try loop.aiLabels()
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(try JSONLines.data(records), to: url)
        emit(
            .note(
                String(
                    format: "preferences: %d pairs labelled by %@ in %.1f s: %@", records.count, loop.feedback.name,
                    Date().timeIntervalSince(started), url.path)))
    }
}
