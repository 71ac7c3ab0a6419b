import Core
import Datasets
import Formats
import Foundation
import Inference
import Models
import Tensors

/// Group Relative Policy Optimization (TRL's `GRPOTrainer`), critic-free online RL from
/// `model.init_from`: each step samples `num_generations` completions for each of its
/// `batch_size` prompts, scores them with the configured reward functions, turns each
/// completion's reward into an advantage relative to its group (`GRPOAdvantages`), and takes
/// `num_iterations` optimizer steps on the clipped objective (`GRPOLoss`), with a k3 KL penalty
/// against the frozen starting model when `beta` > 0.
///
/// A step's prompts follow from the step index (`EpochOrder`) and its sampling seed from the
/// step index and the run's seed, so a resumed run samples exactly what an uninterrupted one
/// would. Every `eval_every` steps (and once before training) the held-out prompts are answered,
/// sampled as in training and greedily, and their mean rewards logged (`eval/reward`,
/// `eval/greedy/reward`).
public final class GRPOStage: TrainingStage<GRPOConfig>, RunnableStage, PostTrainingStage {
    static let title = "GRPO"
    static let itemName = "prompt"

    /// Trains and returns the final model folder, or nil when interrupted (after checkpointing).
    @discardableResult
    public func train() throws -> URL? { try runPostTraining(self) }

    /// One batch of prompts per step; its rollout is split into micro-batches by `GRPOPolicy`.
    var batchesPerStep: Int { 1 }

    /// The prompts, after checking that each has the fields its reward functions read.
    func read(_ folder: ChatModelFolder) throws -> [EncodedPrompt] {
        let url = URL(fileURLWithPath: config.data.path)
        try rewards.get().requireFields(of: RLPromptDataset.read(url), in: url)
        return try Rollouts.read(
            url, encoder: folder.encoder, limits: config.data.limits, field: "data.path", emit: emit)
    }

    func plannedModels(_ folder: ChatModelFolder) -> [PlannedModel] {
        let rows = config.train.batchSize * config.numGenerations
        return [PlannedModel(folder: folder.url, trained: true, sequencesPerBatch: rows)]
            + (config.beta > 0 ? plannedReference(folder.url, sequencesPerBatch: rows) : [])
    }

    func load(_ folder: ChatModelFolder, data: StageData<EncodedPrompt>) throws -> GRPOPolicy {
        let model = try folder.loadModel(device: device, lora: config.lora)
        return GRPOPolicy(
            model: model, reference: config.beta > 0 ? try folder.referenceModel(for: model, device: device) : nil,
            encoder: folder.encoder, padID: folder.padID(config: model.config), rewards: try rewards.get(),
            config: config)
    }

    func trainees(of policy: GRPOPolicy) -> [TrainedModel] {
        [TrainedModel(name: "model", parameters: policy.model.parameters, adapters: policy.model.adapters)]
    }

    /// The starting model's held-out rewards, when the recipe evaluates.
    func beforeTraining(_ policy: GRPOPolicy, heldout: [EncodedPrompt]) throws {
        guard config.train.evalEvery > 0 else { return }
        emit(
            .note(
                "held-out rewards before training: "
                    + GRPOPolicy.describe(try Tensor.withNoGrad { try policy.evaluate(heldout) })))
    }

    func step(_ policy: GRPOPolicy, batches: [[EncodedPrompt]], index: Int, update: () throws -> Float) throws
        -> StageLoop.StepResult
    {
        try policy.step(batches[0], seed: Rollouts.seed(base: config.train.seed, step: index), update: update)
    }

    func evaluate(_ policy: GRPOPolicy, heldout: [EncodedPrompt]) throws -> [String: Double] {
        try policy.evaluate(heldout)
    }

    func save(_ policy: GRPOPolicy, folder: ChatModelFolder, data: StageData<EncodedPrompt>, to url: URL) throws {
        try folder.saveChatModel(policy.model, to: url)
    }

    /// The reward functions the recipe names, made once (a reward model loads onto the device).
    private lazy var rewards = Result {
        try RewardSet(
            specs: config.rewards, options: .init(rewardModel: config.rewardModel, lengthLimit: config.lengthLimit),
            device: device)
    }
}

/// What one GRPO step does with the policy: sample, score, and update.
struct GRPOPolicy {
    let model: LanguageModel
    /// The frozen starting model for the KL penalty (nil when β is 0).
    let reference: LanguageModel?
    let encoder: ChatEncoder
    let padID: Int
    let rewards: RewardSet
    let config: GRPOConfig

    /// One step on `prompts`: a rollout of `num_generations` completions each drawn from
    /// `seed`, their rewards and advantages, and `num_iterations` updates, each finished by
    /// `update` (clip and AdamW step, returning the gradient norm).
    func step(_ prompts: [EncodedPrompt], seed: UInt64, update: () throws -> Float) throws -> StageLoop.StepResult {
        let groupSize = config.numGenerations
        let rows = prompts.flatMap { Array(repeating: $0, count: groupSize) }
        let rollout = try Rollouts.generate(
            model, encoder: encoder, prompts: rows.map(\.ids), settings: config.rollout, seed: seed,
            maxLength: config.data.maxLength)
        let scored = try rewards.score(prompts: rows.map(\.prompt), completions: rollout.texts)
        let advantages = try GRPOAdvantages.compute(
            rewards: scored.total.map(Float.init), groupSize: groupSize, scaling: config.scaleRewards)
        let microBatches = try self.microBatches(rollout.examples, advantages: advantages)
        let loss = config.loss()
        let temperature = config.rollout.logProbTemperature

        // The sampling policy's and the reference's log-probs do not change over the iterations.
        let old =
            config.numIterations > 1
            ? try Tensor.withNoGrad {
                try microBatches.map { try $0.batch.logProbs(model, temperature: temperature).tokens }
            } : nil
        let referenceLogProbs = try reference.map { reference in
            try Tensor.withNoGrad {
                try microBatches.map { try $0.batch.logProbs(reference, temperature: temperature).tokens }
            }
        }

        var statistics = GRPOUpdateStatistics()
        var gradientNorm: Float = 0
        for _ in 0..<config.numIterations {
            try model.parameters.zeroGrad()
            var outputs: [GRPOLoss.Output] = []
            let units = { (micro: GRPOMicroBatch) in loss.accumulationUnits(of: micro.batch.mask) }
            let shares = try GradientAccumulation.backward(microBatches, units: units, reduction: .mean) {
                index, micro in
                let logProbs = try micro.batch.logProbs(model, temperature: temperature)
                let output = try loss.overMicroBatch(micro.batch.mask)(
                    logProbs: logProbs.tokens, oldLogProbs: old?[index], referenceLogProbs: referenceLogProbs?[index],
                    advantages: micro.advantages, mask: micro.batch.mask)
                outputs.append(output)
                return output.loss
            }
            for (index, share) in shares.enumerated() {
                statistics.add(
                    try share.scalar(), outputs[index], tokens: microBatches[index].batch.completionTokenCount)
            }
            gradientNorm = try update()
            statistics.finishIteration()
        }
        var extra = Self.rewardMetrics(scored, groupSize: groupSize)
        extra["completion_length"] = rollout.meanResponseLength
        extra["completions/clipped_ratio"] =
            Double(rollout.endedWithStop.filter { !$0 }.count) / Double(max(rows.count, 1))
        extra["clip_ratio"] = statistics.clipRatio
        if let kl = statistics.kl { extra["kl"] = kl }
        return StageLoop.StepResult(
            loss: statistics.meanLoss, gradientNorm: Double(gradientNorm),
            tokens: rollout.examples.reduce(0) { $0 + $1.ids.count } * config.numIterations, extra: extra)
    }

    /// The mean rewards of answers to the held-out `prompts`: sampled as in training
    /// (`num_generations` per prompt, from a fixed seed, so evaluations differ only by the
    /// weights), TRL's `eval/reward` and `eval/rewards/<name>/mean`; and greedy, what a user of
    /// the model sees, under `eval/greedy/…`.
    func evaluate(_ prompts: [EncodedPrompt]) throws -> [String: Double] {
        let rows = prompts.flatMap { Array(repeating: $0, count: config.numGenerations) }
        var greedy = config.rollout
        greedy.temperature = 0
        return try rewardFigures(of: rows, settings: config.rollout, prefix: "eval/")
            .merging(rewardFigures(of: prompts, settings: greedy, prefix: "eval/greedy/")) { $1 }
    }

    /// `prefix` + "reward" and `prefix` + "rewards/<name>/mean" of answers to `prompts` sampled
    /// with `settings`, in batches of a training step's size, from seeds no training step uses.
    private func rewardFigures(of prompts: [EncodedPrompt], settings: RolloutSettings, prefix: String) throws
        -> [String: Double]
    {
        let chunk = config.train.batchSize * config.numGenerations
        var texts: [String] = []
        for start in stride(from: 0, to: prompts.count, by: chunk) {
            let part = prompts[start..<min(start + chunk, prompts.count)]
            texts += try Rollouts.generate(
                model, encoder: encoder, prompts: part.map(\.ids), settings: settings,
                seed: Rollouts.seed(base: config.train.seed, step: config.train.steps + start),
                maxLength: config.data.maxLength
            ).texts
        }
        let scored = try rewards.score(prompts: prompts.map(\.prompt), completions: texts)
        var metrics = [prefix + "reward": Self.mean(scored.total)]
        for (name, values) in scored.byName { metrics[prefix + "rewards/\(name)/mean"] = Self.mean(values) }
        return metrics
    }

    /// Evaluation figures as one line: "sampled reward 0.61 (exact_match 0.21, format 0.80); greedy …".
    static func describe(_ evaluation: [String: Double]) -> String {
        [("eval/", "sampled"), ("eval/greedy/", "greedy")].map { prefix, title in
            let parts = evaluation.keys.filter { $0.hasPrefix(prefix + "rewards/") }.sorted().map { key in
                "\(key.dropFirst((prefix + "rewards/").count).dropLast("/mean".count)) \(String(format: "%.3f", evaluation[key]!))"
            }
            return
                "\(title) reward \(String(format: "%.3f", evaluation[prefix + "reward"] ?? 0)) (\(parts.joined(separator: ", ")))"
        }.joined(separator: "; ")
    }

    /// The rollout's sequences split into `gradient_accumulation` micro-batches, each with its
    /// sequences' advantages.
    private func microBatches(_ examples: [ChatExample], advantages: [Float]) throws -> [GRPOMicroBatch] {
        let size = (examples.count + config.train.gradientAccumulation - 1) / config.train.gradientAccumulation
        return try stride(from: 0, to: examples.count, by: size).map { start in
            let range = start..<min(start + size, examples.count)
            return GRPOMicroBatch(
                batch: try CompletionBatch(Array(examples[range]), padID: padID), advantages: Array(advantages[range]))
        }
    }

    /// TRL's reward figures: the mean total reward, the mean of the groups' standard deviations,
    /// the share of groups whose rewards are all alike (no signal), and each function's mean and
    /// standard deviation.
    static func rewardMetrics(_ scored: (total: [Double], byName: [String: [Double]]), groupSize: Int) -> [String:
        Double]
    {
        let groups = stride(from: 0, to: scored.total.count, by: groupSize).map {
            Array(scored.total[$0..<($0 + groupSize)])
        }
        let deviations = groups.map { GRPOAdvantages.standardDeviation($0) }
        var metrics = [
            "reward": mean(scored.total),
            "reward_std": mean(deviations),
            "frac_reward_zero_std": Double(deviations.filter { $0 < 1e-8 }.count) / Double(max(groups.count, 1)),
        ]
        for (name, values) in scored.byName {
            metrics["rewards/\(name)/mean"] = mean(values)
            metrics["rewards/\(name)/std"] = GRPOAdvantages.standardDeviation(values)
        }
        return metrics
    }

    static func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
}

/// Some of a rollout's sequences, with their advantages: one micro-batch of a GRPO update.
struct GRPOMicroBatch {
    let batch: CompletionBatch
    let advantages: [Float]
}

/// Running figures of a step's updates: the loss of each iteration, and token-weighted means of
/// the clip fraction and the KL estimate.
struct GRPOUpdateStatistics {
    private var losses: [Double] = []
    private var iterationLoss = 0.0
    private var tokens = 0
    private var clipped = 0.0
    private var klSum: Double?

    /// Adds one micro-batch: its share of the loss and the loss's statistics over `tokens` tokens.
    mutating func add(_ share: Float, _ output: GRPOLoss.Output, tokens count: Int) {
        iterationLoss += Double(share)
        tokens += count
        clipped += output.clipFraction * Double(count)
        if let kl = output.meanKL { klSum = (klSum ?? 0) + kl * Double(count) }
    }

    mutating func finishIteration() {
        losses.append(iterationLoss)
        iterationLoss = 0
    }

    /// The loss, averaged over the iterations.
    var meanLoss: Double { GRPOPolicy.mean(losses) }
    var clipRatio: Double { clipped / Double(max(tokens, 1)) }
    var kl: Double? { klSum.map { $0 / Double(max(tokens, 1)) } }
}
