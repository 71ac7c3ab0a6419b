import Core
import Datasets
import Formats
import Models
import Tensors
import TestSupport
import XCTest

@testable import Training

/// k micro-batches of b rows give the gradients of one batch of k·b rows, with the loss
/// averaged over every target token of the step.
final class GradientAccumulationTests: XCTestCase {
    private func model(on device: Device) throws -> LanguageModel {
        let config = ModelConfig(
            modelType: .llama, vocabSize: 29, hiddenSize: 16, layerCount: 1, headCount: 2,
            intermediateSize: 24, maxPositions: 16, tieWordEmbeddings: false)
        let model = try makeLanguageModel(
            config: config, parameters: ParameterStore(device: device, specs: ModelParameters.specs(for: config)))
        try WeightInitializer.initialize(model, seed: 9)
        return model
    }

    /// Four rows of six tokens; the first two rows have most targets ignored, so the two
    /// micro-batches hold very different numbers of target tokens.
    private func rows() -> [BatchSampler.Batch] {
        var random = TestRandom(seed: 2)
        return (0..<4).map { row in
            var targets = random.ints(6, below: 29)
            if row < 2 { for i in 0..<5 { targets[i] = -100 } }
            return BatchSampler.Batch(
                inputs: random.ints(6, below: 29), targets: targets, batchSize: 1, sequenceLength: 6)
        }
    }

    private func joined(_ batches: [BatchSampler.Batch]) -> BatchSampler.Batch {
        BatchSampler.Batch(
            inputs: batches.flatMap(\.inputs), targets: batches.flatMap(\.targets),
            batchSize: batches.reduce(0) { $0 + $1.batchSize }, sequenceLength: batches[0].sequenceLength)
    }

    private func gradients(_ model: LanguageModel, _ batches: [BatchSampler.Batch]) throws -> (Double, [Float]) {
        try model.parameters.zeroGrad()
        let loss = try GradientAccumulation.accumulate(model, batches: batches)
        return (loss, try model.parameters.device.readFloats(model.parameters.gradients))
    }

    func testMicroBatchesEqualOneLargeBatch() throws {
        let model = try model(on: TestDevices.openCL.get())
        let rows = rows()
        let (wholeLoss, whole) = try gradients(model, [joined(rows)])
        let (splitLoss, split) = try gradients(model, [joined(Array(rows[0..<2])), joined(Array(rows[2..<4]))])
        XCTAssertEqual(splitLoss, wholeLoss, accuracy: 1e-5 * abs(wholeLoss))
        XCTAssertNil(Tolerance(absolute: 1e-6, relative: 1e-4).firstMismatch(split, whole))

        // The pitfall this avoids: averaging each micro-batch's own mean weighs the two
        // targets of the first micro-batch like the twelve of the second.
        try model.parameters.zeroGrad()
        for half in [Array(rows[0..<2]), Array(rows[2..<4])] {
            let batch = joined(half)
            let mean = try languageModelLoss(model, batch: batch, dropout: nil)
                .scaled(by: 1 / Float(batch.targets.filter { $0 != -100 }.count) / 2)
            try mean.backward()
        }
        let perMicroBatch = try model.parameters.device.readFloats(model.parameters.gradients)
        XCTAssertNotNil(Tolerance(absolute: 1e-6, relative: 1e-4).firstMismatch(perMicroBatch, whole))
    }
}
