import Core
import Datasets
import Inference
import Models
import Tensors

/// The four models of PPO: the policy being trained, the frozen reference it is kept near, the
/// frozen reward model that scores responses, and the value model being trained.
struct PPOModels {
    let policy: LanguageModel
    let reference: LanguageModel
    let reward: ScalarHeadModel
    let value: ScalarHeadModel
    let encoder: ChatEncoder
    let padID: Int
}

/// What PPO learns from one rollout (docs/formats.md §6.7 steps 1–7), all computed without gradients
/// before the policy moves: the sampling policy's and the reference's log-probs, the values,
/// the scores, and from them the advantages and returns.
struct PPOExperience {
    let rollout: Rollout
    let batch: CompletionBatch
    /// Sampling-policy log-probs per response token, [rows, width] (0 outside the mask).
    let logProbs: [Float]
    let values: [Float]
    /// The reward model's score of each row, missing-EOS penalty included.
    let scores: [Float]
    let estimate: PPOAdvantageEstimator.Estimate
    /// Mean softmax entropy of the sampling policy over the response tokens.
    let entropy: Double

    /// The experience of `rollout` under `models`.
    init(_ rollout: Rollout, models: PPOModels, config: PPOConfig) throws {
        self.rollout = rollout
        let batch = try CompletionBatch(rollout.examples, padID: models.padID)
        self.batch = batch
        let temperature = config.rollout.logProbTemperature
        let (logProbs, references, values, scores, entropy) = try Tensor.withNoGrad {
            let policy = try PPOExperience.policyStatistics(models.policy, batch, temperature: temperature)
            let reference = try batch.logProbs(models.reference, temperature: temperature)
            return (
                try policy.logProbs.tokens.values(), try reference.tokens.values(),
                try batch.values(models.value).values(),
                try batch.scores(models.reward).values(), batch.mask.mean(of: try policy.entropy.values())
            )
        }
        self.logProbs = logProbs
        self.values = values
        self.scores = zip(scores, rollout.endedWithStop).map { $1 ? $0 : $0 - Float(config.missingEosPenalty) }
        self.entropy = entropy
        estimate = try PPOAdvantageEstimator(
            klCoefficient: config.klCoef, klEstimator: config.klEstimator, gamma: config.gamma, lambda: config.lam
        ).estimate(
            logProbs: logProbs, referenceLogProbs: references, values: values, scores: self.scores, mask: batch.mask)
    }

    /// The policy's completion log-probs on `batch` at `temperature` and the softmax entropy of
    /// each completion slot's (temperature-scaled) distribution, from one pass of the LM head.
    static func policyStatistics(_ model: LanguageModel, _ batch: CompletionBatch, temperature: Float?) throws
        -> (logProbs: SequenceLogProbs, entropy: Tensor)
    {
        let device = model.parameters.device
        let hidden = try model.hiddenStates(batch.tokenBatch(on: device), dropout: nil)
        let rows = try IntTensor(
            device: device, shape: [batch.predictingRows.count], values: batch.predictingRows, label: "predicting rows")
        var logits = try model.logits(fromHidden: hidden.gatherRows(rows))
        // The same scaling SequenceLogProbs applies for a temperature, done once for both figures.
        if let temperature { logits = try logits.scaled(by: 1 / (temperature + 1e-7)) }
        let targets = try IntTensor(
            device: device, shape: [batch.completionTokens.count], values: batch.completionTokens,
            label: "completion tokens")
        return (try SequenceLogProbs(logits: logits, targets: targets, mask: batch.mask), try logits.softmaxEntropy())
    }

    /// The rollout's figures under TRL's names: sequence sums averaged over rows for the KL
    /// terms, per-token means for the entropy.
    var metrics: [String: Double] {
        let rows = Double(batch.sequences)
        let meanScore = scores.reduce(0) { $0 + Double($1) } / rows
        // The shaped rewards are −kl_coef·kl per token plus each row's score once.
        let nonScoreReward = estimate.rewards.reduce(0, +) / rows - meanScore
        return [
            "objective/scores": meanScore,
            "objective/kl": estimate.kl.reduce(0, +) / rows,
            "objective/entropy": entropy,
            "objective/non_score_reward": nonScoreReward,
            "objective/rlhf_reward": meanScore + nonScoreReward,
            "response_length": rollout.meanResponseLength,
            "val/num_eos_tokens": Double(rollout.endedWithStop.filter { $0 }.count),
            "rollout/tokens_per_s": rollout.tokensPerSecond,
        ]
    }

    /// Rows `rows` of a row-major [sequences, width] array of this rollout, each cut to
    /// `width` slots: completion tokens sit at the start of their row, so a sub-batch whose
    /// longest response is shorter keeps every token of its rows.
    func gather<T: BinaryFloatingPoint>(_ array: [T], rows: [Int], width: Int) -> [Float] {
        let full = batch.mask.length
        return rows.flatMap { row in array[(row * full)..<(row * full + width)].map { Float($0) } }
    }
}
