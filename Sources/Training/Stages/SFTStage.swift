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
public final class SFTStage: TrainingStage<SFTConfig>, RunnableStage {
    /// Trains and returns the final model folder, or nil when interrupted (after checkpointing).
    @discardableResult
    public func train() throws -> URL? {
        try config.validate()
        let folder = try openModelFolder(stage: "SFT")
        var encoder = folder.encoder
        encoder.scope = config.lossOn
        let examples = try ChatExamples.read(
            URL(fileURLWithPath: config.data.path), encoder: encoder, limits: config.data.limits, emit: emit)
        let (trainSet, heldout) = try split(examples, what: "example")
        try requireMemory(for: [
            PlannedModel(folder: folder.url, trained: true, sequencesPerBatch: config.train.batchSize)
        ])
        let model = try folder.loadModel(device: device, lora: config.lora)
        let padID = folder.padID(config: model.config)
        let loop = try makeLoop(training: [("model", model.parameters)], adapters: [model.adapters])
        let trainee = loop.trainees[0]
        let order = EpochOrder(count: trainSet.count, seed: UInt64(config.train.seed))
        let t = config.train
        let finished = try loop(
            step: { step in
                let batches = (0..<t.gradientAccumulation).map { micro in
                    ChatExamples.batch(
                        order.batch(step * t.gradientAccumulation + micro, size: t.batchSize).map { trainSet[$0] },
                        padID: padID)
                }
                try model.parameters.zeroGrad()
                let loss = try GradientAccumulation.accumulate(model, batches: batches)
                let norm = try loop.update(trainee)
                return StageLoop.StepResult(
                    loss: loss, gradientNorm: Double(norm), tokens: batches.reduce(0) { $0 + $1.inputs.count })
            },
            evaluate: heldout.isEmpty
                ? nil
                : {
                    ["eval/loss": try ChatExamples.meanLoss(model, heldout, padID: padID, batchSize: t.batchSize)]
                })
        guard finished else { return nil }
        return try finish { try folder.saveChatModel(model, to: $0) }
    }
}
