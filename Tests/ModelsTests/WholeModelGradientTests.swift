import Core
import Formats
import Foundation
import Models
import Optimizers
import Tensors
import TestSupport
import XCTest

/// Whole-model checks against PyTorch, as llm.c checks its GPT-2: for the tiny GPT-2 (tied head,
/// Conv1D weights [in, out]) and Llama (untied head, GQA) fixtures, on the reference device and on
/// OpenCL,
///
/// 1. after one forward/backward of the mean next-token cross-entropy on a fixed [2, L] batch,
///    every parameter's gradient, by Hugging Face name and in Hugging Face layout, equals the one
///    torch computed (a tied head's gradient is part of the embedding's, as in torch);
/// 2. the losses of 10 AdamW steps on that batch (constant lr 1e-3, β 0.9/0.95, ε 1e-8, weight
///    decay 0.1 on parameters of rank ≥ 2 only, `clip_grad_norm_` at 1.0 before every step), the
///    global gradient norms before clipping, and the loss after the last update equal torch's.
///
/// The numbers come from `make_whole_model_fixture.py` (torch 2.15.0, transformers 5.25.0, float32,
/// eager attention, eval mode), committed in `Fixtures/whole-model/<model>/`: `grads.safetensors`
/// (read with gputrain's own safetensors reader) and `steps.json` (the batch, the optimizer
/// settings, the losses and norms). The batch is the fixture's two `reference.json` texts cut to
/// the shorter length.
///
/// Tolerances. Both sides compute in float32 but sum in different orders (torch's blocked
/// BLAS matmuls, softmax and reductions against gputrain's kernels and the reference device's
/// loops), so results differ by accumulated rounding, not by formula. Measured on the reference
/// device and on PoCL (CPU, AVX-512), both models, when these tests were written:
///
/// - Gradients, per tensor, max |ours − torch| / max |torch| (the error relative to the tensor's
///   largest gradient, because some entries are rounding noise on both sides: the key part of
///   GPT-2's c_attn bias has an exactly zero true gradient, softmax being shift invariant, so a
///   purely elementwise relative check could not pass): at most 6.5e-7 (Llama k_proj on the
///   reference device; GPT-2 at most 5.4e-7, PoCL at most 5.9e-7). Tolerance 5e-6, about 8×
///   larger, and 2000× below the 1e-2 that scaling any one gradient by 1.01 causes: each
///   gradient test checks, for every parameter, that its gradient scaled by 1.01 would fail.
/// - The 10 losses plus the loss after the last update, relative error: at most 3.2e-7; the 10
///   gradient norms before clipping: at most 4.9e-7. Tolerance 3e-6, about 6× the larger. Ten
///   steps at lr 1e-3 move the loss from about 6.0 to 4.5, and
///   `testStepToleranceRejectsOnePercentLargerLearningRate` checks that a run whose learning rate
///   is 1% larger fails it (its worst relative loss error is about 1.8e-3). Tried by hand: AdamW
///   without weight decay gives 2.4e-4, far outside the tolerance too.
final class WholeModelGradientTests: XCTestCase {
    /// Per-tensor max |ours − torch| / max |torch| allowed (see the class comment).
    static let gradientTolerance: Float = 5e-6
    /// Relative error allowed on each step's loss, gradient norm and the final loss.
    static let stepTolerance: Double = 3e-6

    /// `steps.json`.
    struct Steps: Decodable {
        struct Optimizer: Decodable {
            var learning_rate: Float
            var beta1: Float
            var beta2: Float
            var epsilon: Float
            var weight_decay: Float
            var max_grad_norm: Float
        }

        var ids: [[Int32]]
        var optimizer: Optimizer
        var losses: [Double]
        var grad_norms: [Double]
        var final_loss: Double
    }

    static func fixtureFolder(_ model: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/whole-model").appendingPathComponent(model)
    }

    static func steps(_ model: String) throws -> Steps {
        try JSONDecoder().decode(
            Steps.self, from: Data(contentsOf: fixtureFolder(model).appendingPathComponent("steps.json")))
    }

    /// The fixture model loaded trainable on `device`.
    private func load(_ model: String, on device: Device) throws -> LanguageModel {
        let (loaded, report) = try ModelFolder.load(HuggingFaceFixtures.folder(model), device: device, trainable: true)
        XCTAssertEqual(report.unusedKeys, [], "\(model): every checkpoint tensor is used")
        return loaded
    }

    /// The mean next-token cross-entropy of `model` on the [rows, L] batch `ids` (each row's last
    /// position has no target), recorded for backward.
    private func loss(_ model: LanguageModel, ids: [[Int32]]) throws -> Tensor {
        let device = model.parameters.device
        let length = ids[0].count
        XCTAssertTrue(ids.allSatisfy { $0.count == length })
        let targets: [Int32] = ids.flatMap { Array($0.dropFirst()) + [Int32(-100)] }
        let input = try IntTensor(device: device, shape: [ids.count * length], values: ids.flatMap { $0 }, label: "ids")
        let logits = try model.logits(TokenBatch(ids: input, batch: ids.count, length: length))
        return try Tensor.crossEntropy(
            logits: logits, targets: IntTensor(device: device, shape: [targets.count], values: targets))
    }

    /// max |actual − expected| / max |expected| (0 when both are all zero; infinite on a length
    /// mismatch or a NaN).
    static func scaledError(_ actual: [Float], _ expected: [Float]) -> Float {
        guard actual.count == expected.count else { return .infinity }
        let scale = expected.reduce(0) { max($0, abs($1)) }
        var worst: Float = 0
        for (a, e) in zip(actual, expected) {
            let difference = abs(a - e)
            guard !difference.isNaN else { return .infinity }
            worst = max(worst, difference)
        }
        return worst == 0 ? 0 : worst / scale
    }

    // MARK: - Gradients

    private func checkGradients(_ model: String, on device: Device) throws {
        let steps = try Self.steps(model)
        let expected = try SafetensorsFile(
            contentsOf: Self.fixtureFolder(model).appendingPathComponent("grads.safetensors"))
        let lm = try load(model, on: device)
        let store = lm.parameters
        // Same parameters as torch's named_parameters: a tied head is not a parameter of its own.
        XCTAssertEqual(Set(store.names), Set(expected.names), "\(model): parameter names")
        XCTAssertEqual(lm.config.tieWordEmbeddings, model == "gpt2-tiny")
        try store.zeroGrad()
        let loss = try loss(lm, ids: steps.ids)
        XCTAssertEqual(
            Double(try loss.scalar()), steps.losses[0], accuracy: Self.stepTolerance * steps.losses[0], "\(model) loss")
        try loss.backward()
        let gradients = store.layout.unpack(trainable: try device.readFloats(store.gradients), frozen: nil)
        var worst: (name: String, error: Float) = ("", 0)
        for name in expected.names {
            let info = try expected.info(name)
            let spec = try XCTUnwrap(store.layout.entry(name)?.spec, name)
            XCTAssertEqual(spec.shape, info.shape, "\(model) \(name): shape in Hugging Face layout")
            let want = try expected.floats(name)
            let got = try XCTUnwrap(gradients[name], name)
            XCTAssertTrue(want.contains { $0 != 0 }, "\(model) \(name): torch's gradient is not all zero")
            let error = Self.scaledError(got, want)
            if error > worst.error { worst = (name, error) }
            XCTAssertLessThanOrEqual(
                error, Self.gradientTolerance,
                "\(model) on \(device.name): gradient of \(name), max error / max |g| = \(error)")
            // The check can fail: this gradient off by 1% would be caught.
            let scaled = want.map { $0 * 1.01 }
            XCTAssertGreaterThan(
                Self.scaledError(got, scaled), Self.gradientTolerance,
                "\(model) \(name): a gradient scaled by 1.01 must fail the comparison")
        }
        print("\(model) on \(device.name): worst gradient error (max |diff| / max |g|) \(worst.error) in \(worst.name)")
    }

    func testGPT2GradientsOfEveryParameterMatchPyTorchOnReferenceDevice() throws {
        try checkGradients("gpt2-tiny", on: TestDevices.reference())
    }

    func testGPT2GradientsOfEveryParameterMatchPyTorchOnOpenCL() throws {
        try checkGradients("gpt2-tiny", on: TestDevices.openCL.get())
    }

    func testLlamaGradientsOfEveryParameterMatchPyTorchOnReferenceDevice() throws {
        try checkGradients("llama-tiny", on: TestDevices.reference())
    }

    func testLlamaGradientsOfEveryParameterMatchPyTorchOnOpenCL() throws {
        try checkGradients("llama-tiny", on: TestDevices.openCL.get())
    }

    // MARK: - AdamW steps

    /// The losses (before each update), the gradient norms (before clipping) and the loss after
    /// the last update of `count` AdamW steps from the checkpoint on the fixture batch, with the
    /// fixture's settings and its learning rate times `learningRateFactor`.
    private func train(_ model: String, on device: Device, steps: Steps, count: Int, learningRateFactor: Float = 1)
        throws -> (losses: [Double], norms: [Double], final: Double)
    {
        let lm = try load(model, on: device)
        let store = lm.parameters
        // torch's param groups decay exactly the parameters of rank ≥ 2; so does the store.
        for entry in store.layout.entries {
            XCTAssertEqual(entry.spec.decays, entry.spec.shape.count >= 2, "\(model) \(entry.spec.name) decays")
        }
        let settings = steps.optimizer
        let optimizer = try AdamW(
            store: store, learningRate: settings.learning_rate * learningRateFactor, beta1: settings.beta1,
            beta2: settings.beta2, epsilon: settings.epsilon, weightDecay: settings.weight_decay)
        var losses: [Double] = []
        var norms: [Double] = []
        for _ in 0..<count {
            try store.zeroGrad()
            let loss = try loss(lm, ids: steps.ids)
            losses.append(Double(try loss.scalar()))
            try loss.backward()
            norms.append(Double(try store.clipGradientNorm(maxNorm: settings.max_grad_norm)))
            try optimizer.step()
        }
        let final = try Tensor.withNoGrad { Double(try loss(lm, ids: steps.ids).scalar()) }
        return (losses, norms, final)
    }

    /// The largest relative error of `actual` against `expected`.
    static func relativeError(_ actual: [Double], _ expected: [Double]) -> Double {
        guard actual.count == expected.count else { return .infinity }
        return zip(actual, expected).map { abs($0 - $1) / abs($1) }.max() ?? 0
    }

    private func checkAdamWSteps(_ model: String, on device: Device) throws {
        let steps = try Self.steps(model)
        XCTAssertEqual(steps.losses.count, 10)
        let run = try train(model, on: device, steps: steps, count: steps.losses.count)
        let lossError = Self.relativeError(run.losses + [run.final], steps.losses + [steps.final_loss])
        let normError = Self.relativeError(run.norms, steps.grad_norms)
        XCTAssertLessThanOrEqual(
            lossError, Self.stepTolerance, "\(model) on \(device.name): losses \(run.losses), final \(run.final)")
        XCTAssertLessThanOrEqual(
            normError, Self.stepTolerance, "\(model) on \(device.name): gradient norms \(run.norms)")
        print(
            "\(model) on \(device.name): worst relative error of 10 AdamW losses + final \(lossError), of gradient norms \(normError)"
        )
    }

    func testGPT2LossesOfTenAdamWStepsMatchPyTorchOnReferenceDevice() throws {
        try checkAdamWSteps("gpt2-tiny", on: TestDevices.reference())
    }

    func testGPT2LossesOfTenAdamWStepsMatchPyTorchOnOpenCL() throws {
        try checkAdamWSteps("gpt2-tiny", on: TestDevices.openCL.get())
    }

    func testLlamaLossesOfTenAdamWStepsMatchPyTorchOnReferenceDevice() throws {
        try checkAdamWSteps("llama-tiny", on: TestDevices.reference())
    }

    func testLlamaLossesOfTenAdamWStepsMatchPyTorchOnOpenCL() throws {
        try checkAdamWSteps("llama-tiny", on: TestDevices.openCL.get())
    }

    /// The step tolerance can fail: a run with a 1% larger learning rate (on OpenCL, the faster
    /// device) is rejected for both models.
    func testStepToleranceRejectsOnePercentLargerLearningRate() throws {
        let device = try TestDevices.openCL.get()
        for model in ["gpt2-tiny", "llama-tiny"] {
            let steps = try Self.steps(model)
            let run = try train(model, on: device, steps: steps, count: steps.losses.count, learningRateFactor: 1.01)
            let error = Self.relativeError(run.losses + [run.final], steps.losses + [steps.final_loss])
            XCTAssertGreaterThan(error, Self.stepTolerance, "\(model): lr × 1.01 must fail the comparison")
            print("\(model): lr × 1.01 gives a worst relative loss error of \(error)")
        }
    }
}
