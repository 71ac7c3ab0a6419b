import Core
import Formats
import Models
import Optimizers
import Tensors
import TestSupport
import XCTest

/// Tiny GPT-2 and Llama models: the OpenCL device computes the same logits, gradients and
/// AdamW step as the reference device, and the reference gradients match finite differences.
final class ModelNumericsTests: XCTestCase {
    static let gpt2 = ModelConfig(
        modelType: .gpt2, vocabSize: 37, hiddenSize: 24, layerCount: 2, headCount: 3, maxPositions: 16)
    static let llama: ModelConfig = {
        var config = ModelConfig(
            modelType: .llama, vocabSize: 41, hiddenSize: 32, layerCount: 2, headCount: 4,
            keyValueHeadCount: 2, intermediateSize: 40, maxPositions: 32, tieWordEmbeddings: false)
        config.ropeScaling = .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 16)
        return config
    }()

    /// A model with HF-initialised weights, nudged so that norms and biases are not 1 and 0.
    private func makeModel(_ config: ModelConfig, on device: Device) throws -> LanguageModel {
        let store = try ParameterStore(device: device, specs: ModelParameters.specs(for: config))
        let model = try makeLanguageModel(config: config, parameters: store)
        try WeightInitializer.initialize(model, seed: 3)
        var random = TestRandom(seed: 4)
        for name in store.names {
            let values = try store.values(of: name)
            let noise = random.floats(values.count, in: -0.05...0.05)
            try store.load(name, values: zip(values, noise).map { $0 * 4 + $1 })
        }
        return model
    }

    private func loss(_ model: LanguageModel, batch: Int = 2, length: Int = 7, seed: UInt64 = 5) throws -> Tensor {
        let device = model.parameters.device
        var random = TestRandom(seed: seed)
        let ids = random.ints(batch * length, below: model.config.vocabSize)
        var targets = random.ints(batch * length, below: model.config.vocabSize)
        targets[3] = -100
        let logits = try model.logits(
            TokenBatch(
                ids: IntTensor(device: device, shape: [batch * length], values: ids), batch: batch, length: length))
        return try Tensor.crossEntropy(
            logits: logits, targets: IntTensor(device: device, shape: [targets.count], values: targets))
    }

    private func compareDevices(_ config: ModelConfig) throws {
        let opencl = try TestDevices.openCL.get()
        let reference = try makeModel(config, on: TestDevices.reference())
        let candidate = try makeModel(config, on: opencl)
        let expectedLoss = try loss(reference)
        let actualLoss = try loss(candidate)
        XCTAssertNil(Tolerance.kernel.firstMismatch([try actualLoss.scalar()], [try expectedLoss.scalar()]))
        try expectedLoss.backward()
        try actualLoss.backward()
        var gradients: [String: [Float]] = [:]
        for name in reference.parameters.names {
            let expected = try XCTUnwrap(reference.parameters.tensor(name).grad).values()
            let actual = try XCTUnwrap(candidate.parameters.tensor(name).grad).values()
            XCTAssertTrue(expected.contains { $0 != 0 }, "\(name) receives a gradient")
            if let mismatch = Tolerance.kernel.firstMismatch(actual, expected) {
                XCTFail("gradient of \(name): \(mismatch)")
            }
            gradients[name] = expected
        }
        for model in [reference, candidate] {
            try AdamW(store: model.parameters, learningRate: 1e-2, weightDecay: 0.1).step()
        }
        for name in reference.parameters.names {
            // AdamW's first step moves every element by ±lr·sign(g) whatever |g| is, so where the
            // exact gradient is zero (a key bias: softmax ignores a constant shift of the scores)
            // the sign of float rounding noise decides the step. Compare where the gradient is real.
            let real = gradients[name]!.map { abs($0) > 1e-6 }
            let pick = { (values: [Float]) in zip(values, real).filter { $0.1 }.map(\.0) }
            let mismatch = Tolerance.kernel.firstMismatch(
                pick(try candidate.parameters.values(of: name)), pick(try reference.parameters.values(of: name)))
            if let mismatch { XCTFail("after one AdamW step, \(name): \(mismatch)") }
        }
    }

    func testGPT2OnOpenCLMatchesReference() throws { try compareDevices(Self.gpt2) }

    func testLlamaOnOpenCLMatchesReference() throws { try compareDevices(Self.llama) }

    func testGradientsMatchFiniteDifferences() throws {
        for config in [Self.gpt2, Self.llama] {
            let model = try makeModel(config, on: TestDevices.reference())
            try loss(model).backward()
            let step: Float = 1e-2
            for name in ModelParameters.specs(for: config).map(\.name).filter({
                $0.contains("layers.1") || $0.contains("h.1")
            }).prefix(6) {
                let parameter = try model.parameters.tensor(name)
                let gradient = try XCTUnwrap(parameter.grad).values()
                var values = try parameter.values()
                for index in [0, values.count / 2, values.count - 1] {
                    let original = values[index]
                    values[index] = original + step
                    try parameter.load(values)
                    let plus = try Tensor.withNoGrad { try loss(model).scalar() }
                    values[index] = original - step
                    try parameter.load(values)
                    let minus = try Tensor.withNoGrad { try loss(model).scalar() }
                    values[index] = original
                    try parameter.load(values)
                    let numeric = (plus - minus) / (2 * step)
                    XCTAssertEqual(
                        numeric, gradient[index], accuracy: 2e-3 + 2e-2 * abs(gradient[index]),
                        "\(config.modelType) \(name)[\(index)]")
                }
            }
        }
    }
}
