import Core
import Inference
import Tensors
import TestSupport
import Training
import XCTest

/// A Bradley–Terry fixture case (`LossFixtures.BradleyTerry`).
struct BradleyTerryCase {
    var name: String
    var useMargins: Bool
    var centering: Float
    var loss: Float
    var chosenGradient: [Float]
    var rejectedGradient: [Float]
    var accuracy: Double
    var meanMargin: Double
}

/// Which preference loss a fixture case runs.
enum PreferenceKind {
    case dpo(DPOLoss.Variant)
    case simpo(gamma: Float, labelSmoothing: Float)
}

/// A DPO-family or SimPO fixture case (`LossFixtures.Preference`).
struct PreferenceCase {
    var name: String
    var kind: PreferenceKind
    var beta: Float
    var usesReference: Bool
    var loss: Float
    var chosenGradient: [Float]
    var rejectedGradient: [Float]
    var metrics: [String: Double]
}

/// A PPO rollout fixture case (`LossFixtures.PPO`).
struct PPORolloutCase {
    var name: String
    var estimator: KLEstimator
    var placement: PPOAdvantageEstimator.ScorePlacement
    var klCoefficient: Double
    var gamma: Double
    var lambda: Double
    var kl: [Float]
    var rewards: [Float]
    var advantages: [Float]
    var returns: [Float]
}

/// A GRPO fixture case (`LossFixtures.GRPO`).
struct GRPOCase {
    var name: String
    var scaling: GRPOAdvantages.Scaling
    var aggregation: GRPOLoss.Aggregation
    var beta: Float
    var usesOldLogProbs: Bool
    var loss: Float
    var logProbsGradient: [Float]
    var meanKL: Double?
    var lowClipFraction: Double
    var highClipFraction: Double
}

/// The post-training losses (Sources/Training/Losses) against PyTorch on fixed inputs
/// (Tests/TrainingTests/make_loss_fixtures.py): values to 1e-5 relative, gradients to 1e-4, on the
/// reference and the OpenCL device, plus a finite-difference check of every gradient.
final class LossTests: XCTestCase {
    private let valueTolerance = Tolerance(absolute: 1e-6, relative: 1e-5)
    private let gradientTolerance = Tolerance(absolute: 1e-6, relative: 1e-4)

    func devices() throws -> [Device] { [TestDevices.reference(), try TestDevices.openCL.get()] }

    /// One differentiable input of a loss.
    struct Input {
        var shape: [Int]
        var values: [Float]
        var expectedGradient: [Float]
    }

    /// A loss of `inputs` with host statistics to compare (metrics).
    typealias Objective = ([Tensor]) throws -> (loss: Tensor, metrics: [String: Double])

    /// Checks `objective`'s loss, metrics and input gradients on every device, then its
    /// gradients by central differences on the reference device.
    func verify(
        _ name: String, _ inputs: [Input], loss expectedLoss: Float, metrics expectedMetrics: [String: Double] = [:],
        file: StaticString = #filePath, line: UInt = #line, _ objective: Objective
    ) throws {
        for device in try devices() {
            let leaves = try inputs.map {
                try Tensor(device: device, shape: $0.shape, values: $0.values, requiresGrad: true)
            }
            let (loss, metrics) = try objective(leaves)
            let context = "\(name) on \(device.name)"
            if let mismatch = valueTolerance.firstMismatch([try loss.scalar()], [expectedLoss]) {
                XCTFail("\(context): loss \(mismatch)", file: file, line: line)
            }
            for (key, expected) in expectedMetrics {
                XCTAssertEqual(
                    metrics[key] ?? .nan, expected, accuracy: 1e-6 + 1e-5 * abs(expected), "\(context): \(key)",
                    file: file, line: line)
            }
            try loss.backward()
            for (index, leaf) in leaves.enumerated() {
                let gradient = try leaf.grad?.values() ?? [Float](repeating: 0, count: leaf.count)
                if let mismatch = gradientTolerance.firstMismatch(gradient, inputs[index].expectedGradient) {
                    XCTFail("\(context): gradient of input \(index) \(mismatch)", file: file, line: line)
                }
            }
        }
        try checkFiniteDifferences(name, inputs, file: file, line: line) { try objective($0).loss }
    }

    /// Central differences (L(x + h) − L(x − h))/(x+h − (x−h)) with h = 1e-2 on the reference
    /// device against the analytic gradient, to 2e-4 + 1e-2·|g|. Fixture inputs keep kinks
    /// (clip bounds, hinge, switches of max) more than 3e-2 away.
    private func checkFiniteDifferences(
        _ name: String, _ inputs: [Input], file: StaticString, line: UInt, _ loss: ([Tensor]) throws -> Tensor
    ) throws {
        let device = TestDevices.reference()
        let leaves = try inputs.map {
            try Tensor(device: device, shape: $0.shape, values: $0.values, requiresGrad: true)
        }
        try loss(leaves).backward()
        let step: Float = 1e-2
        for (index, leaf) in leaves.enumerated() {
            let analytic = try leaf.grad?.values() ?? [Float](repeating: 0, count: leaf.count)
            var values = inputs[index].values
            for coordinate in values.indices {
                let original = values[coordinate]
                func evaluate(_ value: Float) throws -> Double {
                    values[coordinate] = value
                    try leaf.load(values)
                    return Double(try Tensor.withNoGrad { try loss(leaves).scalar() })
                }
                let up = original + step
                let down = original - step
                let numeric = (try evaluate(up) - evaluate(down)) / Double(up - down)
                values[coordinate] = original
                try leaf.load(values)
                XCTAssertEqual(
                    numeric, Double(analytic[coordinate]), accuracy: 2e-4 + 1e-2 * abs(Double(analytic[coordinate])),
                    "\(name): finite difference of input \(index) at \(coordinate)", file: file, line: line)
            }
        }
    }

    private func constant(_ values: [Float], _ device: Device, shape: [Int]? = nil) throws -> Tensor {
        try Tensor(device: device, shape: shape ?? [values.count], values: values)
    }

    // MARK: Sequence log-probs and entropy

    func testSequenceLogProbsMatchTorch() throws {
        typealias F = LossFixtures.Sequences
        let mask = try TokenMask(sequences: F.sequences, length: F.length, isIncluded: F.mask)
        XCTAssertEqual(mask.counts, [3, 2, 2])
        for device in try devices() {
            let targets = try IntTensor(device: device, shape: [F.targets.count], values: F.targets)
            let logits = try constant(F.logits, device, shape: [F.sequences * F.length, F.vocabulary])
            let logProbs = try SequenceLogProbs(logits: logits, targets: targets, mask: mask)
            XCTAssertNil(valueTolerance.firstMismatch(try logProbs.sums.values(), F.sums), device.name)
            XCTAssertNil(valueTolerance.firstMismatch(try logProbs.means.values(), F.means), device.name)
        }
        let input = Input(
            shape: [F.sequences * F.length, F.vocabulary], values: F.logits, expectedGradient: F.logitsGradient)
        let expected =
            zip(F.sums, F.sumWeights).reduce(0) { $0 + $1.0 * $1.1 }
            + zip(F.means, F.meanWeights).reduce(0) { $0 + $1.0 * $1.1 }
        try verify("sequence log-probs", [input], loss: expected) { inputs in
            let device = inputs[0].device
            let targets = try IntTensor(device: device, shape: [F.targets.count], values: F.targets)
            let logProbs = try SequenceLogProbs(logits: inputs[0], targets: targets, mask: mask)
            let loss =
                try (logProbs.sums * constant(F.sumWeights, device)).sum()
                + (logProbs.means * constant(F.meanWeights, device)).sum()
            return (loss, [:])
        }
    }

    func testSoftmaxEntropyMatchesTorch() throws {
        typealias F = LossFixtures.Entropy
        let input = Input(shape: [F.rows, F.columns], values: F.logits, expectedGradient: F.logitsGradient)
        let expected = zip(F.entropies, F.weights).reduce(0) { $0 + $1.0 * $1.1 }
        for device in try devices() {
            let entropies = try constant(F.logits, device, shape: [F.rows, F.columns]).softmaxEntropy()
            XCTAssertNil(valueTolerance.firstMismatch(try entropies.values(), F.entropies), device.name)
        }
        try verify("softmax entropy", [input], loss: expected) { inputs in
            (try (inputs[0].softmaxEntropy() * constant(F.weights, inputs[0].device)).sum(), [:])
        }
    }

    // MARK: SFT

    /// The SFT loss as the stage takes it (summed cross-entropy over the trained tokens divided
    /// by their count, `GradientAccumulation`) and as a plain masked mean.
    func testMaskedSFTCrossEntropyMatchesTorch() throws {
        typealias F = LossFixtures.SFTCrossEntropy
        let trained = F.targets.filter { $0 != GradientAccumulation.ignoreIndex }.count
        let input = Input(shape: [F.rows, F.vocabulary], values: F.logits, expectedGradient: F.logitsGradient)
        for reduction in [LossReduction.sum, .mean] {
            try verify("SFT cross-entropy (\(reduction))", [input], loss: F.loss) { inputs in
                let targets = try IntTensor(device: inputs[0].device, shape: [F.rows], values: F.targets)
                let loss = try Tensor.crossEntropy(
                    logits: inputs[0], targets: targets, ignoreIndex: GradientAccumulation.ignoreIndex,
                    reduction: reduction)
                return (reduction == .sum ? try loss.scaled(by: 1 / Float(trained)) : loss, [:])
            }
        }
    }

    // MARK: Reward model and preferences

    func testBradleyTerryMatchesTorch() throws {
        typealias F = LossFixtures.BradleyTerry
        for testCase in F.cases {
            let inputs = [
                Input(shape: [F.chosen.count], values: F.chosen, expectedGradient: testCase.chosenGradient),
                Input(shape: [F.rejected.count], values: F.rejected, expectedGradient: testCase.rejectedGradient),
            ]
            try verify(
                "Bradley–Terry \(testCase.name)", inputs, loss: testCase.loss,
                metrics: ["accuracy": testCase.accuracy, "margin": testCase.meanMargin]
            ) { rewards in
                let output = try BradleyTerryLoss(centeringCoefficient: testCase.centering)(
                    chosen: rewards[0], rejected: rewards[1], margins: testCase.useMargins ? F.margins : nil)
                return (output.loss, ["accuracy": output.accuracy, "margin": output.meanMargin])
            }
        }
    }

    func testPreferenceLossesMatchTorch() throws {
        typealias F = LossFixtures.Preference
        for testCase in F.cases {
            let inputs = [
                Input(shape: [F.policyChosen.count], values: F.policyChosen, expectedGradient: testCase.chosenGradient),
                Input(
                    shape: [F.policyRejected.count], values: F.policyRejected,
                    expectedGradient: testCase.rejectedGradient),
            ]
            try verify("preference \(testCase.name)", inputs, loss: testCase.loss, metrics: testCase.metrics) {
                policy in
                let device = policy[0].device
                let pairs = try PairLogProbs(
                    chosen: policy[0], rejected: policy[1],
                    chosenTokenCounts: F.chosenCounts, rejectedTokenCounts: F.rejectedCounts)
                let output: PreferenceLossOutput
                switch testCase.kind {
                case .dpo(let variant):
                    let reference = try PairLogProbs(
                        chosen: constant(F.referenceChosen, device), rejected: constant(F.referenceRejected, device),
                        chosenTokenCounts: F.chosenCounts, rejectedTokenCounts: F.rejectedCounts)
                    output = try DPOLoss(beta: testCase.beta, variant: variant)(
                        policy: pairs, reference: testCase.usesReference ? reference : nil)
                case .simpo(let gamma, let labelSmoothing):
                    output = try SimPOLoss(beta: testCase.beta, gamma: gamma, labelSmoothing: labelSmoothing)(
                        policy: pairs)
                }
                return (output.loss, output.metrics)
            }
        }
    }

    // MARK: PPO

    func testPPORolloutMatchesTRL() throws {
        typealias F = LossFixtures.PPO
        let mask = try TokenMask(lengths: F.lengths, length: F.length)
        for testCase in F.rollouts {
            let estimator = PPOAdvantageEstimator(
                klCoefficient: testCase.klCoefficient, klEstimator: testCase.estimator,
                gamma: testCase.gamma, lambda: testCase.lambda, scorePlacement: testCase.placement)
            let estimate = try estimator.estimate(
                logProbs: F.oldLogProbs, referenceLogProbs: F.referenceLogProbs, values: F.oldValues, scores: F.scores,
                mask: mask)
            for (label, actual, expected) in [
                ("kl", estimate.kl, testCase.kl), ("rewards", estimate.rewards, testCase.rewards),
                ("advantages", estimate.advantages, testCase.advantages),
                ("returns", estimate.returns, testCase.returns),
            ] {
                XCTAssertNil(
                    valueTolerance.firstMismatch(actual.map(Float.init), expected), "\(testCase.name): \(label)")
            }
        }
    }

    func testPPOLossMatchesTorch() throws {
        typealias F = LossFixtures.PPO
        let mask = try TokenMask(lengths: F.lengths, length: F.length)
        let inputs = [
            Input(shape: mask.shape, values: F.logProbs, expectedGradient: F.logProbsGradient),
            Input(shape: mask.shape, values: F.values, expectedGradient: F.valuesGradient),
        ]
        let metrics = [
            "policy": Double(F.policyLoss), "value": Double(F.valueLoss), "policy clip": F.policyClipFraction,
            "value clip": F.valueClipFraction, "approx KL": F.approximateKL,
        ]
        try verify("PPO", inputs, loss: F.loss, metrics: metrics) { trained in
            let device = trained[0].device
            let output = try PPOLoss(
                clipRange: F.clipRange, valueClipRange: F.valueClipRange, valueCoefficient: F.valueCoefficient)(
                    logProbs: trained[0], oldLogProbs: constant(F.oldLogProbs, device),
                    advantages: constant(F.advantages, device),
                    values: trained[1], oldValues: constant(F.oldValues, device), returns: constant(F.returns, device),
                    mask: mask)
            return (
                output.loss,
                [
                    "policy": Double(try output.policyLoss.scalar()), "value": Double(try output.valueLoss.scalar()),
                    "policy clip": output.policyClipFraction, "value clip": output.valueClipFraction,
                    "approx KL": output.approximateKL,
                ]
            )
        }
    }

    // MARK: GRPO

    func testGRPOAdvantagesMatchTorch() throws {
        typealias F = LossFixtures.GRPO
        for scaling in GRPOAdvantages.Scaling.allCases {
            let advantages = try GRPOAdvantages.compute(rewards: F.rewards, groupSize: F.groupSize, scaling: scaling)
            XCTAssertNil(valueTolerance.firstMismatch(advantages, F.advantages[scaling] ?? []), "\(scaling)")
        }
    }

    func testGRPOLossMatchesTorch() throws {
        typealias F = LossFixtures.GRPO
        let mask = try TokenMask(lengths: F.lengths, length: F.length)
        for testCase in F.cases {
            let advantages = F.advantages[testCase.scaling] ?? []
            var metrics = ["low clip": testCase.lowClipFraction, "high clip": testCase.highClipFraction]
            metrics["KL"] = testCase.meanKL
            let input = Input(shape: mask.shape, values: F.logProbs, expectedGradient: testCase.logProbsGradient)
            try verify("GRPO \(testCase.name)", [input], loss: testCase.loss, metrics: metrics) { logProbs in
                let device = logProbs[0].device
                let loss = GRPOLoss(
                    epsilonLow: F.epsilonLow, epsilonHigh: F.epsilonHigh, beta: testCase.beta,
                    aggregation: testCase.aggregation)
                // Without old log-probs the ratio is exp(logp − detached logp). Finite differences
                // (evaluated without recording) must hold logp_old at the unperturbed values.
                let fixedOld = testCase.usesOldLogProbs ? F.oldLogProbs : GradientMode.isEnabled ? nil : F.logProbs
                let output = try loss(
                    logProbs: logProbs[0], oldLogProbs: try fixedOld.map { try constant($0, device) },
                    referenceLogProbs: constant(F.referenceLogProbs, device), advantages: advantages, mask: mask)
                var metrics = ["low clip": output.lowClipFraction, "high clip": output.highClipFraction]
                metrics["KL"] = output.meanKL
                return (output.loss, metrics)
            }
        }
    }

    /// Micro-batches of 2, 3 and 1 sequences accumulated by `GradientAccumulation` with each
    /// loss type's unit give the gradient of the whole step's loss: for grpo, dr_grpo and dapo
    /// that of the six sequences as one batch; for bnpo, the mean of the micro-batches' own
    /// losses (TRL's definition under accumulation).
    func testGRPOAccumulatesToTheStepsLoss() throws {
        typealias F = LossFixtures.GRPO
        let device = TestDevices.reference()
        let whole = try TokenMask(lengths: F.lengths, length: F.length)
        let ranges = [0..<2, 2..<5, 5..<6]
        let advantages = try XCTUnwrap(F.advantages[.group])
        func rows<T>(_ values: [T], _ range: Range<Int>) -> [T] {
            Array(values[range.lowerBound * F.length..<range.upperBound * F.length])
        }
        func output(_ loss: GRPOLoss, _ logProbs: Tensor, _ range: Range<Int>, _ mask: TokenMask) throws -> Tensor {
            try loss(
                logProbs: logProbs, oldLogProbs: constant(rows(F.oldLogProbs, range), device, shape: mask.shape),
                referenceLogProbs: constant(rows(F.referenceLogProbs, range), device, shape: mask.shape),
                advantages: Array(advantages[range]), mask: mask
            ).loss
        }
        let aggregations: [GRPOLoss.Aggregation] = [
            .grpo, .drGRPO(maxCompletionLength: 6), .dapo(tokenCount: whole.total), .bnpo,
        ]
        for aggregation in aggregations {
            let loss = GRPOLoss(
                epsilonLow: F.epsilonLow, epsilonHigh: F.epsilonHigh, beta: 0.04, aggregation: aggregation)
            let micro = try ranges.map { range in
                (
                    range: range, mask: try TokenMask(lengths: Array(F.lengths[range]), length: F.length),
                    leaf: try Tensor(
                        device: device, shape: [range.count, F.length], values: rows(F.logProbs, range),
                        requiresGrad: true)
                )
            }
            let shares = try GradientAccumulation.backward(
                micro, units: { loss.accumulationUnits(of: $0.mask) }, reduction: .mean,
                loss: { _, batch in try output(loss.overMicroBatch(batch.mask), batch.leaf, batch.range, batch.mask) })
            let accumulated = try micro.flatMap { try XCTUnwrap($0.leaf.grad).values() }

            var expectedLoss: Float = 0
            var expected: [Float] = []
            if aggregation == .bnpo {
                for batch in micro {
                    let leaf = try Tensor(
                        device: device, shape: batch.mask.shape, values: rows(F.logProbs, batch.range),
                        requiresGrad: true)
                    let value = try output(loss, leaf, batch.range, batch.mask)
                    expectedLoss += try value.scalar() / Float(ranges.count)
                    try value.backward()
                    expected += try XCTUnwrap(leaf.grad).values().map { $0 / Float(ranges.count) }
                }
            } else {
                let leaf = try Tensor(device: device, shape: whole.shape, values: F.logProbs, requiresGrad: true)
                let value = try output(loss, leaf, 0..<F.lengths.count, whole)
                expectedLoss = try value.scalar()
                try value.backward()
                expected = try XCTUnwrap(leaf.grad).values()
            }
            let total = try shares.reduce(Float(0)) { $0 + (try $1.scalar()) }
            XCTAssertNil(valueTolerance.firstMismatch([total], [expectedLoss]), "\(aggregation) loss")
            XCTAssertNil(gradientTolerance.firstMismatch(accumulated, expected), "\(aggregation) gradient")
        }
    }

    // MARK: Bad inputs

    func testBadInputsNameTheOperation() throws {
        let device = TestDevices.reference()
        let three = try constant([1, 2, 3], device)
        let two = try constant([1, 2], device)
        func expectError(_ operation: String, _ body: () throws -> Void) {
            XCTAssertThrowsError(try body()) { error in
                XCTAssertTrue("\(error)".contains(operation), "\(error) should name \(operation)")
            }
        }
        expectError("TokenMask") { _ = try TokenMask(sequences: 2, length: 3, isIncluded: [true]) }
        expectError("PairLogProbs") {
            _ = try PairLogProbs(
                chosen: three, rejected: two, chosenTokenCounts: [1, 1, 1], rejectedTokenCounts: [1, 1])
        }
        expectError("BradleyTerryLoss") { _ = try BradleyTerryLoss()(chosen: three, rejected: two) }
        expectError("DPOLoss") {
            let pairs = try PairLogProbs(
                chosen: three, rejected: three, chosenTokenCounts: [1, 1, 1], rejectedTokenCounts: [1, 1, 1])
            _ = try DPOLoss(variant: .robust(labelSmoothing: 0.5))(policy: pairs, reference: nil)
        }
        expectError("GRPOAdvantages") { _ = try GRPOAdvantages.compute(rewards: [1, 2, 3], groupSize: 2) }
        let mask = try TokenMask(lengths: [2], length: 3)
        expectError("GRPOLoss") { _ = try GRPOLoss(beta: 0.1)(logProbs: three, advantages: [1], mask: mask) }
        expectError("PPOLoss") {
            _ = try PPOLoss()(
                logProbs: two, oldLogProbs: two, advantages: two, values: two, oldValues: two, returns: two, mask: mask)
        }
    }
}
