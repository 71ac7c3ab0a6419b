import Core
import Tensors
import TestSupport
import XCTest

/// A whole GPT-2-style block, composed only of tensor operations, checked by finite
/// differences end to end: embeddings (token + position), pre-LayerNorm attention with a fused
/// [d, 3d] projection split into q, k, v, GELU MLP, residuals, final norm, tied LM head,
/// cross-entropy with ignored targets. It shows the operations compose as a model needs them.
protocol TinyTransformerGradientSuite {
    var device: Device { get throws }
}

extension TinyTransformerGradientSuite {
    func checkTinyTransformerGradients() throws {
        let device = try device
        let (batch, length, vocabulary, width, heads) = (2, 5, 7, 8, 2)
        var make = InputMaker(seed: 31)
        let ids = try IntTensor(
            device: device, shape: [batch, length], values: make.ints(batch * length, below: vocabulary))
        var targets = make.ints(batch * length, below: vocabulary)
        targets[length - 1] = -100
        targets[2 * length - 1] = -100
        let targetTensor = try IntTensor(device: device, shape: [batch, length], values: targets)
        let positions = try IntTensor(
            device: device, shape: [batch, length], values: (0..<(batch * length)).map { Int32($0 % length) })
        let shape = AttentionShape(batch: batch, queryHeads: heads, queryLength: length, headDim: width / heads)

        let inputs: [GradientChecker.Input] = [
            make.uniform([vocabulary, width], in: -0.5...0.5),  // 0 wte
            make.uniform([length, width], in: -0.5...0.5),  // 1 wpe
            make.uniform([width], in: 0.8...1.2),  // 2 ln_1.weight
            make.uniform([width], in: -0.1...0.1),  // 3 ln_1.bias
            make.uniform([width, 3 * width], in: -0.5...0.5),  // 4 attn.c_attn.weight
            make.uniform([3 * width], in: -0.1...0.1),  // 5 attn.c_attn.bias
            make.uniform([width, width], in: -0.5...0.5),  // 6 attn.c_proj.weight
            make.uniform([width], in: 0.8...1.2),  // 7 ln_2.weight
            make.uniform([width], in: -0.1...0.1),  // 8 ln_2.bias
            make.uniform([width, 2 * width], in: -0.5...0.5),  // 9 mlp.c_fc.weight
            make.uniform([2 * width, width], in: -0.5...0.5),  // 10 mlp.c_proj.weight
            make.uniform([width], in: 0.8...1.2),  // 11 ln_f.weight
            make.uniform([width], in: -0.1...0.1),  // 12 ln_f.bias
        ]
        var checker = GradientChecker(device: device)
        checker.coordinatesPerInput = 8
        try checker.check("tiny transformer", inputs) { p in
            var x = try Tensor.embedding(p[0], ids: ids) + Tensor.embedding(p[1], ids: positions)
            let qkv = try Tensor.linear(
                x.layerNorm(weight: p[2], bias: p[3]), weight: p[4], bias: p[5], layout: .inputOutput)
            let parts = try qkv.split(sizes: [width, width, width]).map {
                try $0.reshaped([batch, length, heads, width / heads])
            }
            let attended = try Tensor.attention(query: parts[0], key: parts[1], value: parts[2], shape: shape)
            x = try x + Tensor.linear(attended.reshaped([batch, length, width]), weight: p[6], layout: .inputOutput)
            let hidden = try Tensor.linear(x.layerNorm(weight: p[7], bias: p[8]), weight: p[9], layout: .inputOutput)
                .gelu()
            x = try x + Tensor.linear(hidden, weight: p[10], layout: .inputOutput)
            let logits = try Tensor.linear(x.layerNorm(weight: p[11], bias: p[12]), weight: p[0], layout: .outputInput)
            return try Tensor.crossEntropy(logits: logits, targets: targetTensor)
        }
    }
}
