import Core
import Datasets
import Formats
import Models
import Optimizers
import Tensors
import TestSupport
import Training
import XCTest

/// The device memory a run needs, estimated before it starts.
final class MemoryEstimateTests: XCTestCase {
    /// Sizes whose products overflow Int give an estimate that refuses the run, not a trap.
    func testHugeShapesSaturateInsteadOfOverflowing() throws {
        var config = ModelConfig.defaults(for: .gpt2)
        config.vocabSize = 1 << 20
        config.hiddenSize = 1 << 20
        let estimate = MemoryEstimate(
            languageModel: config, batchSize: 1 << 20, sequenceLength: 1 << 20, training: true)
        XCTAssertEqual(estimate.totalBytes, Int.max)
        XCTAssertEqual((estimate + estimate).totalBytes, Int.max)
        XCTAssertThrowsError(try estimate.requireFits(capacity: 1 << 40, deviceName: "a device"))
    }

    func testGPT2SmallCountsAndFullTraining() {
        let config = ModelConfig.defaults(for: .gpt2)
        let specs = ModelParameters.specs(for: config)
        let estimate = MemoryEstimate(config: config, specs: specs, batchSize: 1, sequenceLength: 1024, training: true)
        XCTAssertEqual(estimate.parameters, 124_439_808, "GPT-2 small, tied head")
        XCTAssertEqual(estimate.trainableParameters, estimate.parameters)
        XCTAssertEqual(estimate.weightBytes, 4 * 124_439_808)
        XCTAssertEqual(estimate.gradientBytes, estimate.weightBytes)
        XCTAssertEqual(estimate.optimizerBytes, 2 * estimate.weightBytes)
        XCTAssertGreaterThan(
            estimate.activationBytes, 2 * 4 * 1024 * config.vocabSize, "logits and their gradient at least")
        XCTAssertTrue(estimate.summary.hasPrefix("124.44M parameters (124.44M trainable)"), estimate.summary)
    }

    /// Frozen parameters (a LoRA base, a reference model) cost their weights only; inference keeps
    /// one layer's activations, not all of them.
    func testFrozenParametersAndInferenceCostLess() {
        let config = ModelConfig(
            modelType: .llama, vocabSize: 1000, hiddenSize: 64, layerCount: 8, headCount: 4,
            keyValueHeadCount: 2, intermediateSize: 128, maxPositions: 256)
        let specs = ModelParameters.specs(for: config)
        let full = MemoryEstimate(config: config, specs: specs, batchSize: 4, sequenceLength: 256, training: true)
        let frozen = specs.map {
            ParameterSpec($0.name, shape: $0.shape, trainable: $0.name.hasSuffix("q_proj.weight"))
        }
        let partial = MemoryEstimate(config: config, specs: frozen, batchSize: 4, sequenceLength: 256, training: true)
        XCTAssertEqual(partial.parameters, full.parameters)
        XCTAssertEqual(partial.trainableParameters, config.layerCount * 64 * 64)
        XCTAssertEqual(partial.optimizerBytes, 2 * 4 * partial.trainableParameters)
        XCTAssertEqual(partial.activationBytes, full.activationBytes)
        let inference = MemoryEstimate(config: config, specs: specs, batchSize: 4, sequenceLength: 256, training: false)
        XCTAssertEqual(inference.trainableParameters, 0)
        XCTAssertEqual(inference.gradientBytes + inference.optimizerBytes, 0)
        XCTAssertLessThan(inference.activationBytes * 3, full.activationBytes)
        let both = full + inference
        XCTAssertEqual(both.totalBytes, full.totalBytes + inference.totalBytes)
        XCTAssertEqual(both.parameters, 2 * full.parameters)
    }

    /// The estimate is rough but errs on the safe side, and not wildly: between the reference
    /// device's peak allocation over a real training step (forward, backward, clipping, AdamW) and
    /// twice that.
    func testEstimateIsCloseToWhatATrainingStepAllocates() throws {
        for modelType in [ModelType.llama, .gpt2] {
            let device = TestDevices.reference()
            let config = ModelConfig(
                modelType: modelType, vocabSize: 96, hiddenSize: 32, layerCount: 2, headCount: 4,
                keyValueHeadCount: modelType == .gpt2 ? nil : 2, intermediateSize: 64, maxPositions: 64)
            let specs = ModelParameters.specs(for: config)
            let model = try makeLanguageModel(config: config, parameters: ParameterStore(device: device, specs: specs))
            try WeightInitializer.initialize(model, seed: 1)
            let trainee = Trainee(name: "model", store: model.parameters, optimizer: try AdamW(store: model.parameters))
            var random = TestRandom(seed: 3)
            let batch = BatchSampler.Batch(
                inputs: random.ints(4 * 64, below: 96), targets: random.ints(4 * 64, below: 96),
                batchSize: 4, sequenceLength: 64)
            _ = try TrainingStep(model: model).run(batches: [batch]) {
                try trainee.update(learningRate: 1e-3, gradientClip: 1, whileIdle: $0).gradientNorm
            }
            let estimate = MemoryEstimate(
                config: config, specs: specs, batchSize: 4, sequenceLength: 64, training: true)
            let peak = Double(device.peakMemoryInUse)
            let estimated = Double(estimate.totalBytes)
            XCTAssertLessThan(
                estimated, 2 * peak, "\(modelType): estimate \(estimate.totalBytes), peak \(device.peakMemoryInUse)")
            XCTAssertGreaterThanOrEqual(
                estimated, peak, "\(modelType): estimate \(estimate.totalBytes), peak \(device.peakMemoryInUse)")
        }
    }

    func testARunThatDoesNotFitIsRefusedWithTheNumbers() throws {
        let config = ModelConfig.defaults(for: .gpt2)
        let estimate = MemoryEstimate(
            config: config, specs: ModelParameters.specs(for: config), batchSize: 8, sequenceLength: 1024,
            training: true)
        XCTAssertNoThrow(try estimate.requireFits(capacity: nil, deviceName: "unknown"))
        XCTAssertNoThrow(try estimate.requireFits(capacity: estimate.totalBytes, deviceName: "big"))
        XCTAssertThrowsError(try estimate.requireFits(capacity: 1 << 30, deviceName: "small GPU")) { error in
            let message = "\(error)"
            for fragment in [
                "small GPU", "1.00 GiB", "124.44M parameters", "AdamW moments", "train.batch_size", "LoRA",
            ] {
                XCTAssertTrue(message.contains(fragment), "'\(fragment)' not in: \(message)")
            }
        }
        XCTAssertNotNil(TestDevices.reference().memoryCapacity)
        XCTAssertEqual(try TestDevices.openCL.get().memoryCapacity, try TestDevices.openCL.get().info.globalMemoryBytes)
    }
}
