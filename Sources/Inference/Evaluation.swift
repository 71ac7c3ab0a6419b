import Core
import Formats
import Foundation
import Models
import Tensors

/// Mean next-token cross-entropy of a model over documents, as `gputrain eval` reports it.
public enum Evaluation {
    /// The result: token-weighted mean loss over every predicted token.
    public struct Result: Equatable, Sendable {
        public var loss: Double
        /// Number of predicted tokens.
        public var tokens: Int
        public var perplexity: Double { _exp(loss) }
    }

    /// Splits each document into consecutive chunks of at most `context` tokens; within a
    /// chunk every token but the first is predicted from those before it (so a chunk of n
    /// tokens predicts n − 1). Chunks shorter than 2 tokens predict nothing and are skipped.
    public static func chunks(_ documents: [[Int32]], context: Int) -> [[Int32]] {
        documents.flatMap { document in
            stride(from: 0, to: document.count, by: context).map {
                Array(document[$0..<min($0 + context, document.count)])
            }
        }.filter { $0.count >= 2 }
    }

    /// Evaluates `model` on `documents` (token ids), without recording gradients; documents longer
    /// than the model's context (`ModelConfig.contextLength`) are split into chunks.
    public static func evaluate(_ model: LanguageModel, documents: [[Int32]]) throws -> Result {
        let device = model.parameters.device
        var total = 0.0
        var tokens = 0
        try Tensor.withNoGrad {
            for chunk in chunks(documents, context: model.config.contextLength) {
                let ids = try IntTensor(device: device, shape: [chunk.count], values: chunk, label: "eval ids")
                let targets = try IntTensor(
                    device: device, shape: [chunk.count], values: Array(chunk.dropFirst()) + [-100],
                    label: "eval targets")
                let logits = try model.logits(TokenBatch(ids: ids, batch: 1, length: chunk.count))
                total += Double(try Tensor.crossEntropy(logits: logits, targets: targets, reduction: .sum).scalar())
                tokens += chunk.count - 1
            }
        }
        return Result(loss: tokens == 0 ? .nan : total / Double(tokens), tokens: tokens)
    }
}

private func _exp(_ x: Double) -> Double { x.isNaN ? .nan : Foundation.exp(x) }
