import Core
import Datasets
import Formats
import Foundation
import Models
import Tensors

/// A preference pair tokenized for a reward model: both completions rendered after the prompt.
public struct EncodedPreferencePair: Equatable, Sendable {
    public var chosen: ChatExample
    public var rejected: ChatExample
    /// How the rejected completion is worse (`rejected_kind`), when the data says.
    public var kind: String?
    /// How much better the chosen completion is (the data's `margin`), when given.
    public var margin: Float?
    /// The probability that the chosen completion is the better one (the data's
    /// `chosen_probability`; 1 when it gives none).
    public var chosenProbability: Float

    /// A pair of tokenized completions of one prompt, the first preferred.
    public init(
        chosen: ChatExample, rejected: ChatExample, kind: String? = nil, margin: Float? = nil,
        chosenProbability: Float = 1
    ) {
        self.chosen = chosen
        self.rejected = rejected
        self.kind = kind
        self.margin = margin
        self.chosenProbability = chosenProbability
    }
}

/// How well a reward model orders preference pairs.
public struct PreferenceEvaluation: Equatable, Sendable {
    /// Pairs evaluated.
    public var pairs: Int
    /// Fraction of pairs whose chosen completion scores strictly higher.
    public var accuracy: Double
    /// The accuracy over the pairs of each `rejected_kind` (pairs without one are left out).
    public var accuracyByKind: [String: Double]
    /// mean(r_c − r_r).
    public var meanMargin: Double
    /// The Bradley–Terry loss of the scores (with the data's margins and the centering term).
    public var loss: Double

    /// The figures as metrics: `<prefix>loss`, `<prefix>accuracy`, `<prefix>margin` and
    /// `<prefix>accuracy/<kind>`.
    public func metrics(prefix: String = "eval/") -> [String: Double] {
        var metrics = ["\(prefix)loss": loss, "\(prefix)accuracy": accuracy, "\(prefix)margin": meanMargin]
        for (kind, accuracy) in accuracyByKind { metrics["\(prefix)accuracy/\(kind)"] = accuracy }
        return metrics
    }

    /// The figures of `pairs` whose chosen and rejected completions scored `chosen` and `rejected`.
    init(_ pairs: [EncodedPreferencePair], chosen: [Double], rejected: [Double], centeringCoefficient: Double) {
        let differences = zip(chosen, rejected).map { $0 - $1 }
        let wins = differences.map { $0 > 0 }
        var losses = 0.0
        var centering = 0.0
        for (index, pair) in pairs.enumerated() {
            let x = differences[index] - Double(pair.margin ?? 0)
            losses += max(-x, 0) + log1p(exp(-abs(x)))  // −log σ(x), stable for large |x|
            centering += (chosen[index] + rejected[index]) * (chosen[index] + rejected[index])
        }
        let count = Double(max(pairs.count, 1))
        var byKind: [String: (wins: Int, total: Int)] = [:]
        for (pair, win) in zip(pairs, wins) {
            guard let kind = pair.kind else { continue }
            byKind[kind, default: (0, 0)].total += 1
            if win { byKind[kind]!.wins += 1 }
        }
        self.pairs = pairs.count
        accuracy = Double(wins.filter { $0 }.count) / count
        accuracyByKind = byKind.mapValues { Double($0.wins) / Double($0.total) }
        meanMargin = differences.reduce(0, +) / count
        loss = losses / count + centeringCoefficient * centering / count
    }
}

/// Scores chats with a reward model: the scalar head read at the last token of each
/// conversation, computed in batches without gradients. What the pipeline, PPO, evaluation and
/// `gputrain score` use to read rewards.
public final class RewardScorer {
    public let model: ScalarHeadModel
    public let encoder: ChatEncoder
    public let padID: Int
    /// Conversations per forward pass.
    public var batchSize: Int

    /// A scorer over `model`, whose tokens `encoder` makes.
    public init(model: ScalarHeadModel, encoder: ChatEncoder, padID: Int, batchSize: Int = 16) {
        self.model = model
        self.encoder = encoder
        self.padID = padID
        self.batchSize = max(batchSize, 1)
    }

    /// Loads the reward model in `url` (frozen) with its tokenizer and chat template.
    /// `field` names where the folder came from in errors ("--model", "ppo.reward_model").
    public convenience init(
        folder url: URL, device: Device, templateName: String = "auto", field: String = "--model",
        batchSize: Int = 16
    ) throws {
        let folder = try ChatModelFolder(url: url, templateName: templateName, field: field)
        try ScalarHeadModel.requireHead(in: url, field: field)
        let model = try ScalarHeadModel.load(url, device: device, trainable: false)
        self.init(
            model: model, encoder: folder.encoder, padID: folder.padID(config: model.config), batchSize: batchSize)
    }

    /// The score of each example, read at its last token.
    public func scores(_ examples: [ChatExample]) throws -> [Double] {
        try Tensor.withNoGrad {
            var scores: [Double] = []
            scores.reserveCapacity(examples.count)
            for start in stride(from: 0, to: examples.count, by: batchSize) {
                let batch = try CompletionBatch(
                    Array(examples[start..<min(start + batchSize, examples.count)]), padID: padID)
                scores += try batch.scores(model).values().map(Double.init)
            }
            return scores
        }
    }

    /// The score of each conversation, which ends with the assistant turn being judged. A
    /// conversation longer than the model's context loses its oldest tokens before that turn.
    public func scores(conversations: [[ChatMessage]]) throws -> [Double] {
        try scores(
            conversations.enumerated().map { index, messages in
                guard let last = messages.last, last.role == .assistant else {
                    throw DeviceError.invalidArgument(
                        operation: "RewardScorer", message: "conversation \(index) does not end with an assistant turn")
                }
                return try fitted([encoder.encode(messages, trainedFrom: messages.count - 1)], "conversation \(index)")[
                    0]
            })
    }

    /// The score of each answer to its prompt (`prompts[i]` followed by the assistant's `answers[i]`).
    public func scores(prompts: [[ChatMessage]], answers: [String]) throws -> [Double] {
        guard prompts.count == answers.count else {
            throw DeviceError.invalidArgument(
                operation: "RewardScorer", message: "\(prompts.count) prompts but \(answers.count) answers")
        }
        return try scores(conversations: zip(prompts, answers).map { $0 + [ChatMessage(.assistant, $1)] })
    }

    /// How well the model orders `pairs`: accuracy overall and by `rejected_kind`, margin, loss.
    public func evaluate(_ pairs: [EncodedPreferencePair], centeringCoefficient: Double = 0) throws
        -> PreferenceEvaluation
    {
        let scores = try scores(pairs.flatMap { [$0.chosen, $0.rejected] })
        return PreferenceEvaluation(
            pairs, chosen: stride(from: 0, to: scores.count, by: 2).map { scores[$0] },
            rejected: stride(from: 1, to: scores.count, by: 2).map { scores[$0] },
            centeringCoefficient: centeringCoefficient)
    }

    /// How well the model orders preference pairs as read from a file (`PreferenceDataset`);
    /// pairs longer than the model's context lose prompt tokens from the left.
    public func evaluate(_ pairs: [PreferencePair]) throws -> PreferenceEvaluation {
        try evaluate(
            pairs.enumerated().map { index, pair in
                let (chosen, rejected) = try encoder.encode(pair)
                let fitted = try fitted([chosen, rejected], "pair \(index)")
                return EncodedPreferencePair(chosen: fitted[0], rejected: fitted[1], kind: pair.rejectedKind)
            })
    }

    /// `examples` (sharing one prompt) cut from the left to the model's context by the same
    /// number of prompt tokens, keeping the judged turns whole.
    private func fitted(_ examples: [ChatExample], _ what: String) throws -> [ChatExample] {
        let cut = max((examples.map(\.ids.count).max() ?? 0) - model.config.maxPositions, 0)
        guard cut <= examples.map(\.promptLength).min() ?? 0 else {
            throw DeviceError.invalidArgument(
                operation: "RewardScorer",
                message: "\(what): the judged answer alone is longer "
                    + "than the model's context of \(model.config.maxPositions) tokens")
        }
        return examples.map { $0.droppingPrompt(cut) }
    }
}
