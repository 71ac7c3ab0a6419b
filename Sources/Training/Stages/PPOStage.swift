import Core
import Datasets
import Formats
import Foundation
import Inference
import Models
import Optimizers
import Tensors

/// Stage 4a, PPO as TRL's `PPOTrainer` does it (docs/formats.md §6.7): the policy (from `model.init_from`,
/// an SFT model) samples responses to prompts; a frozen reward model scores them; a per-token KL
/// penalty against the frozen reference (the same SFT model) shapes the rewards; GAE over the
/// value model's estimates gives advantages; then `ppo_epochs` passes of clipped policy and
/// value losses over mini-batches update the policy and the value model (which starts as a
/// copy of the reward model).
///
/// Each loop step is one iteration: rollout, experience, updates. Everything an iteration
/// draws (its prompts, its sampling seed, its mini-batch order) follows from the step index and
/// the seed, so a resumed run repeats an uninterrupted one bit for bit.
///
/// The score is placed on the last response token (`ScorePlacement.lastToken`) rather than
/// TRL's one-past-the-end slot: a completion batch has no value for the padding after a
/// response, and the two differ only in which token's advantage first sees the score.
public final class PPOStage: TrainingStage<PPOConfig>, RunnableStage, PostTrainingStage {
    static let title = "PPO"
    static let itemName = "prompt"

    /// The four models, the pretraining chats of PPO-ptx, and the reward model's folder (the
    /// value model is saved in its layout).
    struct Session {
        let models: PPOModels
        let ptx: [ChatExample]
        let rewardFolder: ChatModelFolder
    }

    /// The value model's folder in the run directory.
    public var valueModelURL: URL { run.url.appendingPathComponent("value") }

    /// Trains and returns the final policy folder, or nil when interrupted (after checkpointing).
    @discardableResult
    public func train() throws -> URL? { try runPostTraining(self) }

    /// The prompts, after checking that the reward model has a scalar head and the policy's tokenizer.
    func read(_ folder: ChatModelFolder) throws -> [EncodedPrompt] {
        let rewardFolder = try self.rewardFolder()
        try folder.requireSameTokenizer(as: rewardFolder)
        try ScalarHeadModel.requireHead(in: rewardFolder.url, field: "'reward_model'")
        return try Rollouts.read(
            URL(fileURLWithPath: config.data.path), encoder: folder.encoder, limits: config.data.limits,
            field: "data.path", emit: emit)
    }

    func plannedModels(_ folder: ChatModelFolder) throws -> [PlannedModel] {
        let rewardURL = try config.rewardModelFolder()
        let rows = config.train.batchSize
        return [
            PlannedModel(folder: folder.url, trained: true, sequencesPerBatch: rows),
            PlannedModel(folder: rewardURL, trained: false, scalarHead: true, sequencesPerBatch: rows),
            PlannedModel(folder: rewardURL, trained: true, scalarHead: true, sequencesPerBatch: rows),
        ] + plannedReference(folder.url, sequencesPerBatch: rows)
    }

    /// The policy and its frozen reference from `folder`; the reward model and the value model
    /// (trained, starting as its copy) from `reward_model`; the `ptx_data` chats when `ptx_coef` > 0.
    func load(_ folder: ChatModelFolder, data: StageData<EncodedPrompt>) throws -> Session {
        let ptx =
            config.ptxCoef > 0
            ? try ChatExamples.read(
                URL(fileURLWithPath: config.ptxData), encoder: folder.encoder, limits: config.data.limits, emit: emit)
            : []
        if config.ptxCoef > 0, ptx.isEmpty {
            throw ConfigError(
                source: "config", line: nil,
                message: "'ptx_data' (\(config.ptxData)) has no chat that fits max_length \(config.data.maxLength)")
        }
        let rewardURL = try config.rewardModelFolder()
        let policy = try folder.loadModel(device: device, lora: config.lora)
        let models = PPOModels(
            policy: policy, reference: try folder.referenceModel(for: policy, device: device),
            reward: try ScalarHeadModel.load(rewardURL, device: device, trainable: false),
            value: try ScalarHeadModel.load(rewardURL, device: device, lora: config.lora), encoder: folder.encoder,
            padID: folder.padID(config: policy.config))
        return Session(models: models, ptx: ptx, rewardFolder: try rewardFolder())
    }

    func trainees(of session: Session) -> [TrainedModel] {
        [
            TrainedModel(
                name: "model", parameters: session.models.policy.parameters, adapters: session.models.policy.adapters),
            TrainedModel(
                name: "value", parameters: session.models.value.parameters,
                adapters: session.models.value.backbone.adapters),
        ]
    }

    /// The starting policy's held-out figures, for comparison with the end's.
    func beforeTraining(_ session: Session, heldout: [EncodedPrompt]) throws {
        let before = try Tensor.withNoGrad { try evaluate(session, heldout: heldout) }
        emit(
            .note(
                "held-out prompts before PPO: mean score \(Self.format(before["eval/scores"]!)), "
                    + "mean response length \(Self.format(before["eval/response_length"]!))"))
    }

    /// One iteration: a rollout on the step's prompts, its experience, and the updates.
    func step(_ session: Session, batches: [[EncodedPrompt]], index: Int, update: () throws -> Float) throws
        -> StageLoop.StepResult
    {
        let models = session.models
        let rollout = try Rollouts.generate(
            models.policy, encoder: models.encoder, prompts: batches[0].map(\.ids), settings: config.rollout,
            seed: Rollouts.seed(base: config.train.seed, step: index), maxLength: config.data.maxLength)
        let experience = try PPOExperience(rollout, models: models, config: config)
        var result = try optimize(experience, models: models, step: index, ptx: session.ptx, update: update)
        experience.metrics.forEach { result.extra[$0.key] = $0.value }
        return result
    }

    /// The policy, and the value model when `save_value_model` is set (in `valueModelURL`).
    func save(_ session: Session, folder: ChatModelFolder, data: StageData<EncodedPrompt>, to url: URL) throws {
        try folder.saveChatModel(session.models.policy, to: url)
        if config.saveValueModel {
            try session.rewardFolder.saveScalarHeadModel(
                session.models.value, to: valueModelURL, padID: session.models.padID)
        }
    }

    /// The reward model's folder (`reward_model`), read with the recipe's template.
    private func rewardFolder() throws -> ChatModelFolder {
        try ChatModelFolder(
            url: config.rewardModelFolder(), templateName: config.data.template.rawValue, field: "reward_model")
    }

    /// The `ppo_epochs` passes over `experience`: each a seeded permutation of its rows cut into
    /// mini-batches, each mini-batch one clipped-loss backward and one `update` of both models
    /// (which returns the policy's gradient norm). With `ptx_coef`, each update also backs the
    /// language-model loss of a mini-batch of `ptx` chats (drawn in a seeded order that runs on
    /// across iterations). Returns the step's figures averaged over the updates.
    private func optimize(
        _ experience: PPOExperience, models: PPOModels, step: Int, ptx: [ChatExample],
        update: () throws -> Float
    ) throws -> StageLoop.StepResult {
        let loss = PPOLoss(
            clipRange: Float(config.cliprange), valueClipRange: Float(config.cliprangeValue),
            valueCoefficient: Float(config.vfCoef))
        let rows = experience.batch.sequences
        var random = SeededGenerator(seed: Rollouts.seed(base: config.train.seed, step: step) ^ 0x0BB0_E9C4_5EED)
        var sums: [String: Double] = [:]
        var updates = 0
        var policyNorms = 0.0
        let updatesPerStep = config.ppoEpochs * ((rows + config.rowsPerUpdate - 1) / config.rowsPerUpdate)
        let ptxOrder = EpochOrder(count: max(ptx.count, 1), seed: UInt64(config.train.seed) ^ 0x97C0_5EED)
        for _ in 0..<config.ppoEpochs {
            let permutation = Array(0..<rows).shuffled(using: &random)
            for start in stride(from: 0, to: rows, by: config.rowsPerUpdate) {
                let indices = Array(permutation[start..<min(start + config.rowsPerUpdate, rows)])
                let batch = try CompletionBatch(indices.map { experience.rollout.examples[$0] }, padID: models.padID)
                let width = batch.mask.length
                func constant(_ values: [Float], _ label: String) throws -> Tensor {
                    try Tensor(device: device, shape: batch.mask.shape, values: values, label: label)
                }
                try models.policy.parameters.zeroGrad()
                try models.value.parameters.zeroGrad()
                let output = try loss(
                    logProbs: batch.logProbs(models.policy, temperature: config.rollout.logProbTemperature).tokens,
                    oldLogProbs: constant(
                        experience.gather(experience.logProbs, rows: indices, width: width), "old log-probs"),
                    advantages: constant(
                        experience.gather(experience.estimate.advantages, rows: indices, width: width), "advantages"),
                    values: batch.values(models.value),
                    oldValues: constant(
                        experience.gather(experience.values, rows: indices, width: width), "old values"),
                    returns: constant(
                        experience.gather(experience.estimate.returns, rows: indices, width: width), "returns"),
                    mask: batch.mask)
                try output.loss.backward()
                if !ptx.isEmpty {
                    let chats = ptxOrder.batch(step * updatesPerStep + updates, size: config.rowsPerUpdate).map {
                        ptx[$0]
                    }
                    sums["loss/ptx_avg", default: 0] += try GradientAccumulation.accumulate(
                        models.policy, batches: [ChatExamples.batch(chats, padID: models.padID)],
                        weight: Float(config.ptxCoef))
                }
                policyNorms += Double(try update())
                let figures = [
                    "loss/policy_avg": Double(try output.policyLoss.scalar()),
                    "loss/value_avg": Double(try output.valueLoss.scalar()),
                    "policy/clipfrac_avg": output.policyClipFraction, "val/clipfrac_avg": output.valueClipFraction,
                    "policy/approxkl_avg": output.approximateKL,
                ]
                figures.forEach { sums[$0.key, default: 0] += $0.value }
                updates += 1
            }
        }
        let extra = sums.mapValues { $0 / Double(updates) }
        // tokens/s counts the rollout's sequences (prompt and response), the step's data.
        return StageLoop.StepResult(
            loss: extra["loss/policy_avg"] ?? 0, gradientNorm: policyNorms / Double(updates),
            tokens: experience.batch.sequenceLengths.reduce(0, +), extra: extra)
    }

    /// Greedy responses to the held-out prompts scored by the reward model (missing-EOS penalty
    /// included): "eval/scores", "eval/response_length", "eval/eos_fraction".
    func evaluate(_ session: Session, heldout prompts: [EncodedPrompt]) throws -> [String: Double] {
        let models = session.models
        var greedy = config.rollout
        greedy.temperature = 0
        var scores = 0.0
        var lengths = 0.0
        var ended = 0
        for start in stride(from: 0, to: prompts.count, by: max(config.train.batchSize, 1)) {
            let rollout = try Rollouts.generate(
                models.policy, encoder: models.encoder,
                prompts: prompts[start..<min(start + config.train.batchSize, prompts.count)].map(\.ids),
                settings: greedy, seed: 0, maxLength: config.data.maxLength)
            let raw = try CompletionBatch(rollout.examples, padID: models.padID).scores(models.reward).values()
            scores += zip(raw, rollout.endedWithStop).reduce(0) {
                $0 + Double($1.0) - ($1.1 ? 0 : config.missingEosPenalty)
            }
            lengths += Double(rollout.generatedTokens)
            ended += rollout.endedWithStop.filter { $0 }.count
        }
        let count = Double(prompts.count)
        return [
            "eval/scores": scores / count, "eval/response_length": lengths / count,
            "eval/eos_fraction": Double(ended) / count,
        ]
    }

    private static func format(_ value: Double) -> String { String(format: "%.4f", value) }
}
