import Core
import Tensors
import TestSupport
import XCTest

/// Finite-difference checks of every differentiable tensor operation, written once and run on
/// each device by a thin test class (`ReferenceGradientTests`, `OpenCLGradientTests`): XCTest
/// on Linux does not discover test methods inherited from a superclass.
protocol OperationGradientSuite {
    var device: Device { get throws }
}

extension OperationGradientSuite {
    private var checker: GradientChecker { get throws { GradientChecker(device: try device) } }

    func checkUnaryFunctions() throws {
        var make = InputMaker(seed: 1)
        let shape = [3, 5]
        let general = make.uniform(shape, in: -2...2)
        let positive = make.uniform(shape, in: 0.5...2)
        let checker = try checker
        let cases: [(String, GradientChecker.Input, (Tensor) throws -> Tensor)] = [
            ("negated", general, { try $0.negated() }),
            ("exp", general, { try $0.exp() }),
            ("log", positive, { try $0.log() }),
            ("sqrt", positive, { try $0.sqrt() }),
            ("tanh", general, { try $0.tanh() }),
            ("sigmoid", general, { try $0.sigmoid() }),
            ("logSigmoid", general, { try $0.logSigmoid() }),
            ("gelu", general, { try $0.gelu() }),
            ("silu", general, { try $0.silu() }),
            ("relu", make.awayFromZero(shape, magnitude: 0.1...2), { try $0.relu() }),
            ("squared", general, { try $0.squared() }),
            ("scaled", general, { try $0.scaled(by: -1.5) }),
            ("addingScalar", general, { try $0.addingScalar(0.75) }),
            // Bounds ±0.5, inputs at least 0.1 away from them on both sides.
            (
                "clamped",
                GradientChecker.Input(
                    shape: shape, values: general.values.map { abs(abs($0) - 0.5) < 0.1 ? $0 + 0.25 : $0 }),
                { try $0.clamped(to: -0.5...0.5) }
            ),
        ]
        for (name, input, function) in cases {
            try checker.check(name, [input]) { try function($0[0]) }
        }
    }

    func checkBroadcastingArithmetic() throws {
        var make = InputMaker(seed: 2)
        let checker = try checker
        try checker.check("add [2,3,4]+[4]", [make.uniform([2, 3, 4]), make.uniform([4])]) { try $0[0] + $0[1] }
        try checker.check("subtract [2,1,4]-[3,1]", [make.uniform([2, 1, 4]), make.uniform([3, 1])]) {
            try $0[0] - $0[1]
        }
        try checker.check("multiply [2,3,4]*[3,1]", [make.uniform([2, 3, 4]), make.uniform([3, 1])]) {
            try $0[0] * $0[1]
        }
        try checker.check("multiply [4]*[2,3,4]", [make.uniform([4]), make.uniform([2, 3, 4])]) { try $0[0] * $0[1] }
        try checker.check("divide [2,3]/[2,1]", [make.uniform([2, 3]), make.uniform([2, 1], in: 0.5...2)]) {
            try $0[0] / $0[1]
        }
        try checker.check("multiply by scalar tensor", [make.uniform([3, 2]), make.uniform([])]) { try $0[0] * $0[1] }
        // max/min: operands at least 0.1 apart, so no tie lies within a step.
        let a = make.uniform([2, 3, 4])
        let gaps = make.awayFromZero([3, 4], magnitude: 0.1...1)
        let b = GradientChecker.Input(shape: [3, 4], values: (0..<12).map { a.values[$0] + gaps.values[$0] })
        var separated = a.values
        for i in separated.indices where abs(separated[i] - b.values[i % 12]) < 0.1 {
            separated[i] = b.values[i % 12] + 0.2
        }
        let aSecond = GradientChecker.Input(shape: [2, 3, 4], values: separated)
        try checker.check("maximum", [aSecond, b]) { try $0[0].maximum($0[1]) }
        try checker.check("minimum", [aSecond, b]) { try $0[0].minimum($0[1]) }
        try checker.check("scalar operators", [make.uniform([5])]) { inputs in
            let scaled: Tensor = try inputs[0] * 3 + 1
            return try 2 - scaled / 2
        }
    }

    func checkReductionsAndBroadcast() throws {
        var make = InputMaker(seed: 3)
        let checker = try checker
        let x = make.uniform([2, 3, 4])
        try checker.check("sum", [x]) { try $0[0].sum() }
        try checker.check("mean", [x]) { try $0[0].mean() }
        try checker.check("sum(axis: 1)", [x]) { try $0[0].sum(axis: 1) }
        try checker.check("mean(axis: -1, keeping)", [x]) { try $0[0].mean(axis: -1, keepingDimension: true) }
        try checker.check("sum(axis: 0)", [x]) { try $0[0].sum(axis: 0) }
        try checker.check("broadcast [3,1] to [2,3,4]", [make.uniform([3, 1])]) { try $0[0].broadcast(to: [2, 3, 4]) }
        try checker.check("sum [2,3,4] to [3,1]", [x]) { try $0[0].sum(toShape: [3, 1]) }
        try checker.check("sum [2,3,4] to [2,1,4]", [x]) { try $0[0].sum(toShape: [2, 1, 4]) }
    }

    func checkShapeOperations() throws {
        var make = InputMaker(seed: 4)
        let checker = try checker
        try checker.check("reshape", [make.uniform([2, 6])]) { try $0[0].reshaped([3, -1]).squared() }
        try checker.check("slice", [make.uniform([3, 5])]) { try $0[0].slice(lastAxis: 1..<4) }
        try checker.check("overlapping slices", [make.uniform([2, 2, 6])]) { inputs in
            let x = inputs[0]
            // Both slices send gradients to the columns 2..<4 they share.
            return try x.slice(lastAxis: 0..<4) * x.slice(lastAxis: 2..<6)
        }
        try checker.check("split", [make.uniform([2, 6])]) { inputs in
            let parts = try inputs[0].split(sizes: [1, 2, 3])
            return try Tensor.concatenate(lastAxis: [parts[2], parts[0].squared(), parts[1]])
        }
        try checker.check(
            "concatenate", [make.uniform([2, 3, 2]), make.uniform([2, 3, 1]), make.uniform([2, 3, 3])]
        ) {
            try Tensor.concatenate(lastAxis: $0)
        }
        try checker.check("slice along axis 1", [make.uniform([2, 4, 3])]) { try $0[0].slice(axis: 1, 1..<3) }
        try checker.check(
            "concatenate along axis 0 and 1",
            [make.uniform([1, 2, 3]), make.uniform([2, 2, 3]), make.uniform([3, 1, 3])]
        ) {
            let rows = try Tensor.concatenate([$0[0], $0[1]], axis: 0)
            return try Tensor.concatenate([rows, $0[2]], axis: 1)
        }
        try checker.check("concatenate same tensor twice", [make.uniform([2, 3])]) { inputs in
            try Tensor.concatenate(lastAxis: [inputs[0], inputs[0].exp()])
        }
    }

    func checkMatmulAllTransposes() throws {
        var make = InputMaker(seed: 5)
        let checker = try checker
        let (m, k, n) = (3, 4, 5)
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let a = make.uniform(transposeA ? [k, m] : [m, k])
                let b = make.uniform(transposeB ? [n, k] : [k, n])
                try checker.check("matmul tA \(transposeA) tB \(transposeB)", [a, b]) {
                    try Tensor.matmul($0[0], $0[1], transposeA: transposeA, transposeB: transposeB)
                }
                let batchedA = make.uniform(transposeA ? [2, k, m] : [2, m, k])
                let batchedB = make.uniform(transposeB ? [2, n, k] : [2, k, n])
                try checker.check("batched matmul tA \(transposeA) tB \(transposeB)", [batchedA, batchedB]) {
                    try Tensor.matmul($0[0], $0[1], transposeA: transposeA, transposeB: transposeB)
                }
                // A weight shared by the batch: folded into one product, or summed over items.
                try checker.check("matmul shared B tA \(transposeA) tB \(transposeB)", [batchedA, b]) {
                    try Tensor.matmul($0[0], $0[1], transposeA: transposeA, transposeB: transposeB)
                }
                try checker.check("matmul shared A tA \(transposeA) tB \(transposeB)", [a, batchedB]) {
                    try Tensor.matmul($0[0], $0[1], transposeA: transposeA, transposeB: transposeB)
                }
            }
        }
    }

    func checkLinear() throws {
        var make = InputMaker(seed: 6)
        let checker = try checker
        let x = make.uniform([2, 3, 4])
        try checker.check("linear Conv1D [in,out] with bias", [x, make.uniform([4, 5]), make.uniform([5])]) {
            try Tensor.linear($0[0], weight: $0[1], bias: $0[2], layout: .inputOutput)
        }
        try checker.check("linear nn.Linear [out,in] with bias", [x, make.uniform([5, 4]), make.uniform([5])]) {
            try Tensor.linear($0[0], weight: $0[1], bias: $0[2], layout: .outputInput)
        }
        try checker.check("linear without bias", [x, make.uniform([5, 4])]) {
            try Tensor.linear($0[0], weight: $0[1], layout: .outputInput)
        }
    }

    func checkSoftmaxFamily() throws {
        var make = InputMaker(seed: 7)
        let checker = try checker
        let x = make.uniform([2, 3, 7], in: -3...3)
        try checker.check("softmax", [x]) { try $0[0].softmax() }
        try checker.check("logSoftmax", [x]) { try $0[0].logSoftmax() }
    }

    func checkCrossEntropy() throws {
        var make = InputMaker(seed: 8)
        let device = try device
        let checker = try checker
        let logits = make.uniform([2, 4, 6], in: -3...3)
        var targets = make.ints(8, below: 6)
        targets[1] = -100
        targets[6] = -100
        let targetTensor = try IntTensor(device: device, shape: [2, 4], values: targets)
        for reduction in [LossReduction.none, .sum, .mean] {
            try checker.check("crossEntropy \(reduction)", [logits]) {
                try Tensor.crossEntropy(logits: $0[0], targets: targetTensor, reduction: reduction)
            }
        }
        try checker.check("tokenLogProbs", [logits]) { try Tensor.tokenLogProbs(logits: $0[0], targets: targetTensor) }
    }

    func checkDPOLikeLoss() throws {
        // −log σ(β·((Σ logp_θ(chosen) − ref_c) − (Σ logp_θ(rejected) − ref_r))), mean over pairs,
        // with prompt tokens ignored (-100): the DPO sigmoid loss (docs/formats.md §6.3).
        var make = InputMaker(seed: 9)
        let device = try device
        let (pairs, length, vocabulary) = (2, 4, 5)
        var chosenTargets = make.ints(pairs * length, below: vocabulary)
        var rejectedTargets = make.ints(pairs * length, below: vocabulary)
        for row in 0..<pairs {
            chosenTargets[row * length] = -100
            rejectedTargets[row * length] = -100
        }
        let chosen = try IntTensor(device: device, shape: [pairs, length], values: chosenTargets)
        let rejected = try IntTensor(device: device, shape: [pairs, length], values: rejectedTargets)
        let referenceMargin = try Tensor(device: device, shape: [pairs], values: [0.3, -0.2])
        try checker.check(
            "DPO sigmoid loss",
            [
                make.uniform([pairs, length, vocabulary], in: -2...2),
                make.uniform([pairs, length, vocabulary], in: -2...2),
            ]
        ) { logits in
            let chosenLogProb = try Tensor.tokenLogProbs(logits: logits[0], targets: chosen).sum(axis: -1)
            let rejectedLogProb = try Tensor.tokenLogProbs(logits: logits[1], targets: rejected).sum(axis: -1)
            let margin = try chosenLogProb - rejectedLogProb - referenceMargin
            return try margin.scaled(by: 0.5).logSigmoid().negated().mean()
        }
    }

    func checkNormalization() throws {
        var make = InputMaker(seed: 10)
        let checker = try checker
        let x = make.uniform([2, 3, 8], in: -2...2)
        try checker.check("layerNorm", [x, make.uniform([8], in: 0.5...1.5), make.uniform([8])]) {
            try $0[0].layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5)
        }
        try checker.check("rmsNorm", [x, make.uniform([8], in: 0.5...1.5)]) {
            try $0[0].rmsNorm(weight: $0[1], epsilon: 1e-6)
        }
    }

    func checkEmbeddingAndGather() throws {
        var make = InputMaker(seed: 11)
        let device = try device
        let checker = try checker
        // Repeated ids: their rows collect several gradients.
        let ids = try IntTensor(device: device, shape: [2, 3], values: [1, 4, 1, 0, 4, 4])
        try checker.check("embedding", [make.uniform([5, 3])]) { try Tensor.embedding($0[0], ids: ids) }
        let rows = try IntTensor(device: device, shape: [2], values: [5, 2])
        try checker.check("gatherRows", [make.uniform([2, 3, 4])]) { try $0[0].gatherRows(rows) }
    }

    func checkRope() throws {
        var make = InputMaker(seed: 12)
        let device = try device
        let positions = try IntTensor(device: device, shape: [2, 3], values: [0, 1, 2, 5, 6, 7])
        let inverseFrequencies = try Tensor(
            device: device, shape: [4], values: (0..<4).map { 1 / Float(pow(10000, Double(2 * $0) / 8)) })
        try checker.check("rope", [make.uniform([2, 3, 2, 8])]) {
            try $0[0].rope(positions: positions, inverseFrequencies: inverseFrequencies)
        }
    }

    func checkAttention() throws {
        var make = InputMaker(seed: 13)
        let device = try device
        let checker = try checker
        let (batch, length, headDim) = (2, 5, 4)
        func inputs(queryHeads: Int, keyValueHeads: Int, queryLength: Int = length) -> [GradientChecker.Input] {
            [
                make.uniform([batch, queryLength, queryHeads, headDim], in: -2...2),
                make.uniform([batch, length, keyValueHeads, headDim], in: -2...2),
                make.uniform([batch, length, keyValueHeads, headDim], in: -2...2),
            ]
        }
        let gqa = AttentionShape(batch: batch, queryHeads: 4, keyValueHeads: 2, queryLength: length, headDim: headDim)
        try checker.check("attention GQA causal", inputs(queryHeads: 4, keyValueHeads: 2)) {
            try Tensor.attention(query: $0[0], key: $0[1], value: $0[2], shape: gqa)
        }
        var full = gqa
        full.causal = false
        try checker.check("attention GQA not causal", inputs(queryHeads: 4, keyValueHeads: 2)) {
            try Tensor.attention(query: $0[0], key: $0[1], value: $0[2], shape: full)
        }
        // Left padding in the first row, two packed documents in the second.
        let keyValid = try IntTensor(device: device, shape: [batch, length], values: [0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
        let segments = try IntTensor(device: device, shape: [batch, length], values: [0, 0, 0, 0, 0, 1, 1, 2, 2, 2])
        let masks = AttentionMasks.tensors(keyValid: keyValid, querySegments: segments, keySegments: segments)
        try checker.check("attention padding and segments", inputs(queryHeads: 2, keyValueHeads: 1)) {
            try Tensor.attention(
                query: $0[0], key: $0[1], value: $0[2],
                shape: AttentionShape(
                    batch: batch, queryHeads: 2, keyValueHeads: 1, queryLength: length, headDim: headDim),
                masks: masks)
        }
        // Queries after cached keys (generation with a key/value cache).
        let cached = AttentionShape(
            batch: batch, queryHeads: 2, keyValueHeads: 2, queryLength: 2, keyLength: length, headDim: headDim)
        try checker.check("attention with cached keys", inputs(queryHeads: 2, keyValueHeads: 2, queryLength: 2)) {
            try Tensor.attention(query: $0[0], key: $0[1], value: $0[2], shape: cached)
        }
    }

    func checkDropout() throws {
        var make = InputMaker(seed: 14)
        let device = try device
        let input = make.uniform([4, 25], in: 0.5...1)
        try checker.check("dropout", [input]) { try $0[0].dropout(probability: 0.5, seed: 42) }
        // The gradient is keep/(1 − p): 2 where the element was kept, 0 where dropped.
        let x = try Tensor(device: device, shape: input.shape, values: input.values, requiresGrad: true)
        let y = try x.dropout(probability: 0.5, seed: 42)
        let kept = try y.values().map { $0 != 0 }
        try y.backward(gradient: Tensor.full(1, device: device, shape: y.shape))
        let gradient = try XCTUnwrap(x.grad).values()
        for index in kept.indices {
            XCTAssertEqual(gradient[index], kept[index] ? 2 : 0, "dropout gradient at \(index)")
        }
        let keptCount = kept.filter { $0 }.count
        XCTAssert((25...75).contains(keptCount), "dropout kept \(keptCount) of 100 at p = 0.5")
        let evaluation = try x.dropout(probability: 0.5, seed: 42, training: false)
        XCTAssert(evaluation === x, "dropout is the identity outside training")
    }
}
