import Core
import Datasets
import Foundation
import Inference
import Models
import TinyWorld

/// Where the feedback comes from: a chat model folder, or the tiny world's judge for a world
/// folder (its `world.json`).
public enum FeedbackSource: Equatable, Sendable {
    case model(URL)
    case judge(world: URL)

    /// The feedback model on `device`; a model answers with `options` (critiques and revisions).
    public func load(device: Device, options: GenerationOptions, seed: UInt64) throws -> FeedbackModel {
        switch self {
        case .model(let url):
            let folder = try ChatModelFolder(url: url, field: "--feedback-model")
            let model = try folder.loadModel(device: device, trainable: false)
            return LanguageModelFeedback(
                sampler: ChatAnswerSampler(model: model, encoder: folder.encoder, options: options), name: url.path,
                seed: seed)
        case .judge(let folder):
            return JudgeFeedback(judge: try JudgeFeedback.loadJudge(worldFolder: folder))
        }
    }
}

extension JudgeFeedback {
    /// The judge of the tiny world whose `world.json` is in `folder`.
    public static func loadJudge(worldFolder folder: URL) throws -> TinyWorldJudge {
        let file = folder.appendingPathComponent("world.json")
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw FeedbackError(
                "\(file.path) is missing: a judge needs a tiny-world folder (runs/tiny-world-data/world)")
        }
        do {
            return TinyWorldJudge(world: try JSONDecoder().decode(TinyWorld.self, from: data))
        } catch {
            throw FeedbackError("\(file.path) is not a tiny world's world.json: \(error)")
        }
    }
}
