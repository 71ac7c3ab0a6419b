import Core
import Tensors
import TestSupport
import XCTest

@testable import Training

/// KTO and ORPO against numbers TRL's own trainer code computed (TRLFixtures.swift, from
/// make_trl_fixtures.py), and the soft labels of the reward model and DPO.
extension LossTests {
    /// Pairs of sequences whose summed log-probs are `chosen` and `rejected`, one token each (so
    /// that length normalisation leaves them as they are).
    private func singleTokenPairs(_ chosen: Tensor, _ rejected: Tensor) throws -> PairLogProbs {
        let counts = Array(repeating: 1, count: chosen.count)
        return try PairLogProbs(
            chosen: chosen, rejected: rejected, chosenTokenCounts: counts, rejectedTokenCounts: counts)
    }

    private func tensor(_ values: [Float], _ device: Device) throws -> Tensor {
        try Tensor(device: device, shape: [values.count], values: values)
    }

    func testKTOMatchesTRL() throws {
        for (index, testCase) in TRLFixtures.kto.enumerated() {
            let input = Input(
                shape: [testCase.policy.count], values: testCase.policy,
                expectedGradient: testCase.gradient.map(Float.init))
            let expected = [
                "kl": testCase.kl, "rewards/chosen": testCase.chosenReward, "rewards/rejected": testCase.rejectedReward,
            ]
            try verify("KTO case \(index)", [input], loss: Float(testCase.loss), metrics: expected) { inputs in
                let device = inputs[0].device
                let loss = KTOLoss(
                    beta: testCase.beta, desirableWeight: testCase.desirableWeight,
                    undesirableWeight: testCase.undesirableWeight)
                let output = try loss(
                    policy: singleTokenPairs(inputs[0], tensor(testCase.policyKL, device)),
                    reference: singleTokenPairs(
                        tensor(testCase.reference, device), tensor(testCase.referenceKL, device)),
                    desirable: testCase.labels)
                return (output.loss, output.metrics)
            }
        }
    }

    func testORPOMatchesTRL() throws {
        for (index, testCase) in TRLFixtures.orpo.enumerated() {
            let inputs = [
                Input(
                    shape: [testCase.chosen.count], values: testCase.chosen,
                    expectedGradient: testCase.chosenGradient.map(Float.init)),
                Input(
                    shape: [testCase.rejected.count], values: testCase.rejected,
                    expectedGradient: testCase.rejectedGradient.map(Float.init)),
                Input(shape: [1], values: [testCase.nll], expectedGradient: [Float(testCase.nllGradient)]),
            ]
            let expected = ["log_odds_ratio": testCase.logOddsRatio, "log_odds_chosen": testCase.logOddsChosen]
            try verify("ORPO case \(index)", inputs, loss: Float(testCase.loss), metrics: expected) { inputs in
                // TRL's whole loss: the NLL minus β·mean(log σ(log-odds)).
                let output = try ORPOLoss(beta: testCase.beta)(policy: singleTokenPairs(inputs[0], inputs[1]))
                return (try output.loss + inputs[2].reshaped([]), output.metrics)
            }
        }
    }

    /// log(1 − eˣ) stays accurate where 1 − eˣ cancels (x near 0) and where eˣ underflows.
    func testORPOLogOneMinusExpIsAccurateNearZeroAndFarBelow() throws {
        let xs: [Float] = [-1e-4, -0.01, -0.3, -0.7, -2, -30, -120]
        let values = try ORPOLoss.logOneMinusExp(tensor(xs, TestDevices.reference())).values()
        for (x, value) in zip(xs, values) {
            let exact = Foundation.log(-Foundation.expm1(Double(x)))
            XCTAssertEqual(Double(value), exact, accuracy: 1e-6 * max(1, abs(exact)), "x = \(x)")
        }
    }

    /// DPO with every `chosen_probability` at 1 − ε is conservative DPO with label smoothing ε:
    /// the committed conservative case (make_loss_fixtures.py), as a soft-label sigmoid loss.
    func testSoftDPOAtOneMinusEpsilonIsConservativeDPO() throws {
        typealias F = LossFixtures.Preference
        let conservative = try XCTUnwrap(F.cases.first { $0.name == "conservative" })
        guard case .dpo(.conservative(let epsilon)) = conservative.kind else { return XCTFail("not conservative") }
        let inputs = [
            Input(shape: [F.policyChosen.count], values: F.policyChosen, expectedGradient: conservative.chosenGradient),
            Input(
                shape: [F.policyRejected.count], values: F.policyRejected,
                expectedGradient: conservative.rejectedGradient),
        ]
        let labels = Array(repeating: 1 - epsilon, count: F.policyChosen.count)
        try verify("soft DPO at 1 − ε", inputs, loss: conservative.loss, metrics: conservative.metrics) { policy in
            let device = policy[0].device
            let pairs = try PairLogProbs(
                chosen: policy[0], rejected: policy[1],
                chosenTokenCounts: F.chosenCounts, rejectedTokenCounts: F.rejectedCounts)
            let reference = try PairLogProbs(
                chosen: tensor(F.referenceChosen, device), rejected: tensor(F.referenceRejected, device),
                chosenTokenCounts: F.chosenCounts, rejectedTokenCounts: F.rejectedCounts)
            let output = try DPOLoss(beta: conservative.beta, variant: .sigmoid)(
                policy: pairs, reference: reference, chosenProbabilities: labels)
            return (output.loss, output.metrics)
        }
    }

    /// Labels of 1 give the hard-label losses bit for bit.
    func testSoftLabelsOfOneAreTheHardLabelLosses() throws {
        typealias P = LossFixtures.Preference
        typealias B = LossFixtures.BradleyTerry
        let device = try TestDevices.openCL.get()
        let chosen = try tensor(B.chosen, device)
        let rejected = try tensor(B.rejected, device)
        let ones = Array(repeating: Float(1), count: B.chosen.count)
        XCTAssertEqual(
            try BradleyTerryLoss()(chosen: chosen, rejected: rejected, chosenProbabilities: ones).loss.scalar(),
            try BradleyTerryLoss()(chosen: chosen, rejected: rejected).loss.scalar())
        let pairs = try PairLogProbs(
            chosen: tensor(P.policyChosen, device), rejected: tensor(P.policyRejected, device),
            chosenTokenCounts: P.chosenCounts, rejectedTokenCounts: P.rejectedCounts)
        let pairOnes = Array(repeating: Float(1), count: pairs.count)
        for variant in [DPOLoss.Variant.sigmoid, .conservative(labelSmoothing: 0.1)] {
            let loss = DPOLoss(beta: 0.1, variant: variant)
            XCTAssertEqual(
                try loss(policy: pairs, reference: nil, chosenProbabilities: pairOnes).loss.scalar(),
                try loss(policy: pairs, reference: nil).loss.scalar(), "\(variant)")
        }
        XCTAssertThrowsError(
            try DPOLoss(variant: .hinge)(policy: pairs, reference: nil, chosenProbabilities: pairOnes.map { $0 * 0.5 }))
    }

    /// The soft Bradley–Terry loss mean(−p·log σ(d) − (1−p)·log σ(−d)) and its gradient
    /// ∂/∂r_c = (σ(d) − p)/n, computed here in Double, on both devices and by finite differences.
    func testSoftBradleyTerryLoss() throws {
        typealias B = LossFixtures.BradleyTerry
        let labels: [Float] = (0..<B.chosen.count).map { [0.9, 0.25, 0.5, 0.7][$0 % 4] }
        let n = Double(B.chosen.count)
        func logSigmoid(_ x: Double) -> Double { -Foundation.log1p(Foundation.exp(-x)) }
        var loss = 0.0
        var gradient: [Float] = []
        for (index, label) in labels.enumerated() {
            let d = Double(B.chosen[index]) - Double(B.rejected[index])
            let p = Double(label)
            loss += (-p * logSigmoid(d) - (1 - p) * logSigmoid(-d)) / n
            gradient.append(Float((1 / (1 + Foundation.exp(-d)) - p) / n))
        }
        let inputs = [
            Input(shape: [B.chosen.count], values: B.chosen, expectedGradient: gradient),
            Input(shape: [B.rejected.count], values: B.rejected, expectedGradient: gradient.map { -$0 }),
        ]
        try verify("soft Bradley–Terry", inputs, loss: Float(loss)) { rewards in
            (try BradleyTerryLoss()(chosen: rewards[0], rejected: rewards[1], chosenProbabilities: labels).loss, [:])
        }
    }
}
