import Datasets
import Foundation
import Inference
import Models
import Tensors

/// Chats trained as language modelling on their assistant turns: SFT's data, and PPO-ptx's.
public enum ChatExamples {
    /// The conversations of `url` encoded with `encoder` and fitted to `limits` (dropped ones
    /// counted in a note); examples with nothing to train are left out.
    public static func read(
        _ url: URL, encoder: ChatEncoder, limits: ChatLengthLimits,
        emit: (TrainingEvent) -> Void
    ) throws -> [ChatExample] {
        var filter = ChatLengthFilter(limits: limits)
        let examples = try SFTDataset.read(url).compactMap { filter.fit(try encoder.encode($0)) }.filter {
            $0.trainedCount > 0
        }
        emit(.note(filter.report.summary(of: "SFT conversations in \(url.lastPathComponent)", limits: limits)))
        return examples
    }

    /// `examples` right-padded into one batch whose targets are the next token's label.
    public static func batch(_ examples: [ChatExample], padID: Int) -> BatchSampler.Batch {
        let length = examples.map(\.ids.count).max() ?? 1
        var inputs: [Int32] = []
        var targets: [Int32] = []
        for example in examples {
            let padded = example.padded(to: length, padID: padID)
            inputs += padded.ids.map(Int32.init)
            targets += (padded.labels.dropFirst().map(Int32.init) + [GradientAccumulation.ignoreIndex])
        }
        return BatchSampler.Batch(inputs: inputs, targets: targets, batchSize: examples.count, sequenceLength: length)
    }

    /// Mean cross-entropy over every trained token of `examples`, `batchSize` at a time.
    public static func meanLoss(_ model: LanguageModel, _ examples: [ChatExample], padID: Int, batchSize: Int) throws
        -> Double
    {
        var total = 0.0
        var tokens = 0
        for start in stride(from: 0, to: examples.count, by: batchSize) {
            let batch = batch(Array(examples[start..<min(start + batchSize, examples.count)]), padID: padID)
            total += Double(try languageModelLoss(model, batch: batch, dropout: nil).scalar())
            tokens += batch.targets.filter { $0 != GradientAccumulation.ignoreIndex }.count
        }
        return total / Double(max(tokens, 1))
    }
}
