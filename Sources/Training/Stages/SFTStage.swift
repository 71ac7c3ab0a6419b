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
public final class SFTStage: TrainingStage<SFTConfig> {
    /// Trains and returns the final model folder, or nil when interrupted (after checkpointing).
    @discardableResult
    public func train() throws -> URL? {
        try config.validate()
        let folder = try ChatModelFolder(url: config.model.folder(stage: "SFT"), templateName: config.data.template.rawValue)
        var encoder = folder.encoder
        encoder.scope = config.lossOn
        let examples = try Self.examples(from: URL(fileURLWithPath: config.data.path), encoder: encoder,
                                         limits: config.data.limits, emit: emit)
        let (trainSet, heldout) = EpochOrder.split(examples, heldoutFraction: config.data.heldoutFraction, seed: UInt64(config.train.seed))
        guard !trainSet.isEmpty else {
            throw ConfigError(source: "config", line: nil, message: "'data.path' (\(config.data.path)) has no example that fits max_length \(config.data.maxLength)")
        }
        try requireMemory(for: [PlannedModel(folder: folder.url, trained: true, sequencesPerBatch: config.train.batchSize)])
        let model = try folder.loadModel(device: device, lora: config.lora)
        let padID = folder.padID(config: model.config)
        let loop = try makeLoop(training: [("model", model.parameters)], adapters: [model.adapters])
        let trainee = loop.trainees[0]
        let order = EpochOrder(count: trainSet.count, seed: UInt64(config.train.seed))
        let t = config.train
        let finished = try loop(step: { step, learningRate in
            let batches = (0..<t.gradientAccumulation).map { micro in
                Self.batch(order.batch(step * t.gradientAccumulation + micro, size: t.batchSize).map { trainSet[$0] }, padID: padID)
            }
            try model.parameters.zeroGrad()
            let loss = try GradientAccumulation.accumulate(model, batches: batches)
            let norm = try loop.update(trainee, learningRate: learningRate)
            return StageLoop.StepResult(loss: loss, gradientNorm: Double(norm), tokens: batches.reduce(0) { $0 + $1.inputs.count })
        }, evaluate: heldout.isEmpty ? nil : {
            ["eval/loss": try Self.meanLoss(model, heldout, padID: padID, batchSize: t.batchSize)]
        })
        guard finished else { return nil }
        try folder.saveChatModel(model, to: run.finalModelURL)
        emit(.finished(step: t.steps, finalModel: run.finalModelURL.path))
        return run.finalModelURL
    }

    /// The conversations of `url` encoded with `encoder` and fitted to `limits` (dropped ones
    /// counted in a note); examples with nothing to train are left out.
    static func examples(from url: URL, encoder: ChatEncoder, limits: ChatLengthLimits,
                         emit: (TrainingEvent) -> Void) throws -> [ChatExample] {
        var filter = ChatLengthFilter(limits: limits)
        let examples = try SFTDataset.read(url).compactMap { filter.fit(try encoder.encode($0)) }.filter { $0.trainedCount > 0 }
        emit(.note(filter.report.summary(of: "SFT conversations in \(url.lastPathComponent)", limits: limits)))
        return examples
    }

    /// `examples` right-padded into one batch whose targets are the next token's label.
    static func batch(_ examples: [ChatExample], padID: Int) -> BatchSampler.Batch {
        let length = examples.map(\.ids.count).max() ?? 1
        var inputs: [Int32] = [], targets: [Int32] = []
        for example in examples {
            let padded = example.padded(to: length, padID: padID)
            inputs += padded.ids.map(Int32.init)
            targets += (padded.labels.dropFirst().map(Int32.init) + [GradientAccumulation.ignoreIndex])
        }
        return BatchSampler.Batch(inputs: inputs, targets: targets, batchSize: examples.count, sequenceLength: length)
    }

    /// Mean cross-entropy over every trained token of `examples`.
    static func meanLoss(_ model: LanguageModel, _ examples: [ChatExample], padID: Int, batchSize: Int) throws -> Double {
        var total = 0.0, tokens = 0
        for start in stride(from: 0, to: examples.count, by: batchSize) {
            let batch = batch(Array(examples[start..<min(start + batchSize, examples.count)]), padID: padID)
            total += Double(try languageModelLoss(model, batch: batch, dropout: nil).scalar())
            tokens += batch.targets.filter { $0 != GradientAccumulation.ignoreIndex }.count
        }
        return total / Double(max(tokens, 1))
    }
}
