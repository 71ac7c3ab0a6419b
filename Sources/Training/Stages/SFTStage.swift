import Core
import Datasets
import Formats
import Foundation
import Inference
import Models
import Tensors

/// Stage 2, supervised fine-tuning: next-token cross-entropy on chats, on the assistant turns
/// only (their end-of-turn tokens included), starting from `model.init_from`.
///
/// Batches are padded, not packed: each micro-batch is right-padded to its longest example, and
/// padding is excluded from the loss by its label (causal attention never lets a real token see
/// the padding after it). The loss of a step is the mean over all its trained tokens.
public final class SFTStage: TrainingStage<SFTConfig>, RunnableStage, PostTrainingStage {
    static let title = "SFT"
    static let itemName = "example"

    /// The model being tuned and its padding id.
    struct Session {
        let model: LanguageModel
        let padID: Int
    }

    /// Trains and returns the final model folder, or nil when interrupted (after checkpointing).
    @discardableResult
    public func train() throws -> URL? { try runPostTraining(self) }

    func read(_ folder: ChatModelFolder) throws -> [ChatExample] {
        var encoder = folder.encoder
        encoder.scope = config.lossOn
        return try ChatExamples.read(
            URL(fileURLWithPath: config.data.path), encoder: encoder, limits: config.data.limits, emit: emit)
    }

    func plannedModels(_ folder: ChatModelFolder) -> [PlannedModel] {
        [PlannedModel(folder: folder.url, trained: true, sequencesPerBatch: config.train.batchSize)]
    }

    func load(_ folder: ChatModelFolder, data: StageData<ChatExample>) throws -> Session {
        let model = try folder.loadModel(device: device, lora: config.lora)
        return Session(model: model, padID: folder.padID(config: model.config))
    }

    func trainees(of session: Session) -> [TrainedModel] {
        [TrainedModel(name: "model", parameters: session.model.parameters, adapters: session.model.adapters)]
    }

    func step(_ session: Session, batches: [[ChatExample]], index: Int, update: () throws -> Float) throws
        -> StageLoop.StepResult
    {
        let batches = batches.map { ChatExamples.batch($0, padID: session.padID) }
        try session.model.parameters.zeroGrad()
        let loss = try GradientAccumulation.accumulate(session.model, batches: batches)
        return StageLoop.StepResult(
            loss: loss, gradientNorm: Double(try update()), tokens: batches.reduce(0) { $0 + $1.inputs.count })
    }

    func evaluate(_ session: Session, heldout: [ChatExample]) throws -> [String: Double] {
        [
            "eval/loss": try ChatExamples.meanLoss(
                session.model, heldout, padID: session.padID, batchSize: config.train.batchSize)
        ]
    }

    func save(_ session: Session, folder: ChatModelFolder, data: StageData<ChatExample>, to url: URL) throws {
        try folder.saveChatModel(session.model, to: url)
    }
}
