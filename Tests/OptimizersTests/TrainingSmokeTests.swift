import Core
import Optimizers
import ReferenceDevice
import Tensors
import TestSupport
import XCTest

/// The whole training step as a stage runs it: zeroGrad, forward, loss, backward over two
/// micro-batches, clipping, scheduled AdamW. A bigram model (embedding → linear → GELU → tied
/// head) must learn a fixed cyclic sequence.
final class TrainingSmokeTests: XCTestCase {
    func testBigramModelLearnsACycle() throws {
        let device = TestDevices.reference()
        let (vocabulary, width) = (6, 8)
        let store = try ParameterStore(
            device: device,
            specs: [
                ParameterSpec("wte.weight", shape: [vocabulary, width]),
                ParameterSpec("fc.weight", shape: [width, width]),
                ParameterSpec("fc.bias", shape: [width]),
            ])
        var random = SeededGenerator(seed: 5)
        for name in store.names {
            let count = try store.tensor(name).count
            try store.load(name, values: (0..<count).map { _ in 0.3 * random.nextNormal() })
        }
        let optimizer = try AdamW(store: store, learningRate: 0.05, weightDecay: 0.01)
        let schedule = LearningRateSchedule.cosine(warmupSteps: 3, totalSteps: 60)
        // Token t is followed by (t + 1) mod V; two micro-batches of 6 tokens each.
        let sequence = (0..<12).map { Int32($0 % vocabulary) }
        let microBatches = [0, 6].map { start in
            (
                ids: Array(sequence[start..<(start + 6)]),
                targets: (start..<(start + 6)).map { Int32(($0 + 1) % vocabulary) }
            )
        }
        var losses: [Float] = []
        for step in 0..<60 {
            try store.zeroGrad()
            var stepLoss: Float = 0
            for batch in microBatches {
                let ids = try IntTensor(device: device, shape: [6], values: batch.ids)
                let targets = try IntTensor(device: device, shape: [6], values: batch.targets)
                let wte = try store.tensor("wte.weight")
                let hidden = try Tensor.linear(
                    Tensor.embedding(wte, ids: ids), weight: store.tensor("fc.weight"),
                    bias: store.tensor("fc.bias"), layout: .inputOutput
                ).gelu()
                let logits = try Tensor.linear(hidden, weight: wte, layout: .outputInput)
                // Sum per micro-batch, divided by the tokens of the whole step (docs/formats.md §6.1).
                let loss = try Tensor.crossEntropy(logits: logits, targets: targets, reduction: .sum).scaled(by: 1 / 12)
                stepLoss += try loss.scalar()
                try loss.backward()
            }
            losses.append(stepLoss)
            let norm = try store.clipGradientNorm(maxNorm: 1)
            XCTAssert(norm.isFinite)
            try optimizer.step(learningRate: schedule.learningRate(base: 0.05, atStep: step))
        }
        XCTAssertLessThan(losses.last!, 0.1 * losses.first!, "losses: \(losses)")
    }
}
