import Core
import Datasets
import Formats
import Foundation
import Inference
import Models
import Tensors

/// Stage 3, preference optimization: DPO and its variants (TRL's `DPOTrainer`) or SimPO, on
/// preference pairs, starting from `model.init_from` (the SFT model), which is also the frozen
/// reference.
///
/// Each micro-batch puts the chosen and the rejected completions of its pairs into one
/// `CompletionBatch` (the chosen rows, then the rejected rows), so one forward pass gives both
/// sides' summed log-probs. The reference's come from the cache (`ReferenceLogProbCache`,
/// computed once before the first step), from a frozen second copy of the model, or not at all
/// (reference-free DPO, SimPO). The loss is a mean over pairs; with gradient accumulation each
/// micro-batch's mean is weighed by its share of the step's pairs, so every pair counts the same.
public final class DPOStage: TrainingStage<DPOConfig>, RunnableStage, PostTrainingStage {
    static let title = "DPO"
    static let itemName = "preference pair"

    /// A preference pair encoded for the model, with its position in the dataset (the index of
    /// its cached reference log-probs).
    struct EncodedPair {
        let index: Int
        let chosen: ChatExample
        let rejected: ChatExample
        /// The item's label (`PreferenceObjective`): the probability that `chosen` is the better
        /// completion, or for KTO whether it is desirable (1) or not (0).
        var label: Float = 1
    }

    /// The loss of some pairs, and the batch they made.
    typealias Scorer = ([EncodedPair]) throws -> (scored: PreferenceObjective.Scored, batch: CompletionBatch)

    /// The policy being trained and the loss of pairs under it.
    struct Session {
        let policy: LanguageModel
        let score: Scorer
    }

    /// Trains and returns the final model folder, or nil when interrupted (after checkpointing).
    @discardableResult
    public func train() throws -> URL? { try runPostTraining(self) }

    func read(_ folder: ChatModelFolder) throws -> [EncodedPair] {
        let url = URL(fileURLWithPath: config.data.path)
        if config.loss.type == .kto {
            return try Self.ktoItems(
                from: url, encoder: folder.encoder, limits: config.data.limits, batchSize: config.train.batchSize,
                emit: emit)
        }
        return try Self.pairs(from: url, encoder: folder.encoder, limits: config.data.limits, emit: emit)
    }

    func plannedModels(_ folder: ChatModelFolder) -> [PlannedModel] {
        let pairRows = 2 * config.train.batchSize
        return [PlannedModel(folder: folder.url, trained: true, sequencesPerBatch: pairRows)]
            + (config.reference.mode == .model ? plannedReference(folder.url, sequencesPerBatch: pairRows) : [])
    }

    func load(_ folder: ChatModelFolder, data: StageData<EncodedPair>) throws -> Session {
        let objective = try config.loss.objective(referenceFree: config.reference.mode == .none)
        for pair in data.all {
            if let problem = objective.labelProblem(pair.label) {
                throw ConfigError(
                    source: config.data.path, line: nil,
                    message: "item \(pair.index + 1) has the label \(pair.label), which loss.type "
                        + "\(config.loss.type.rawValue) cannot take: \(problem)")
            }
        }
        let policy = try folder.loadModel(device: device, lora: config.lora)
        try Self.requireFits(data.all, positions: policy.config.maxPositions, maxLength: config.data.maxLength)
        let padID = folder.padID(config: policy.config)
        // Before any step (and before a resumed run restores its checkpoint), the policy is
        // the reference: the cache is computed from it.
        let reference = try referenceSource(
            mode: objective.needsReference ? config.reference.mode : .none, folder: folder, policy: policy,
            pairs: data.all, dataURL: URL(fileURLWithPath: config.data.path), padID: padID)
        return Session(policy: policy) { pairs in
            try Self.preferenceLoss(objective, policy: policy, reference: reference, pairs: pairs, padID: padID)
        }
    }

    func trainees(of session: Session) -> [TrainedModel] {
        [TrainedModel(name: "model", parameters: session.policy.parameters, adapters: session.policy.adapters)]
    }

    func step(_ session: Session, batches: [[EncodedPair]], index: Int, update: () throws -> Float) throws
        -> StageLoop.StepResult
    {
        try session.policy.parameters.zeroGrad()
        let (summary, tokens) = try Self.accumulate(batches, score: session.score)
        return StageLoop.StepResult(
            loss: summary.loss, gradientNorm: Double(try update()), tokens: tokens, extra: summary.metrics(prefix: ""))
    }

    func evaluate(_ session: Session, heldout: [EncodedPair]) throws -> [String: Double] {
        try Self.evaluate(heldout, batchSize: config.train.batchSize, score: session.score)
    }

    func save(_ session: Session, folder: ChatModelFolder, data: StageData<EncodedPair>, to url: URL) throws {
        try folder.saveChatModel(session.policy, to: url)
    }

    /// Runs forward and backward over `microBatches`, adding into the gradients, with each
    /// micro-batch's mean loss weighed by its share of the pairs: the gradients of one batch of
    /// all of them. Returns the loss and metrics over all the pairs, and the tokens processed.
    static func accumulate(_ microBatches: [[EncodedPair]], score: Scorer) throws -> (
        summary: PreferenceSummary, tokens: Int
    ) {
        var summary = PreferenceSummary()
        var tokens = 0
        _ = try GradientAccumulation.backward(microBatches, units: \.count, reduction: .mean) { _, pairs in
            let (scored, batch) = try score(pairs)
            try summary.add(scored, pairs: pairs.count)
            tokens += batch.ids.count
            return scored.loss
        }
        return (summary, tokens)
    }

    /// The loss ("eval/loss") and reward metrics ("eval/rewards/…") over `pairs`, `batchSize` at a time.
    static func evaluate(_ pairs: [EncodedPair], batchSize: Int, score: Scorer) throws -> [String: Double] {
        var summary = PreferenceSummary()
        for start in stride(from: 0, to: pairs.count, by: max(batchSize, 1)) {
            let batch = Array(pairs[start..<min(start + batchSize, pairs.count)])
            try summary.add(score(batch).scored, pairs: batch.count)
        }
        return summary.metrics(prefix: "eval/").merging(["eval/loss": summary.loss]) { $1 }
    }

    /// The pairs of `url` (`EncodedPreferencePair.read`) that have completion tokens on both
    /// sides, indexed in file order.
    static func pairs(from url: URL, encoder: ChatEncoder, limits: ChatLengthLimits, emit: (TrainingEvent) -> Void)
        throws
        -> [EncodedPair]
    {
        try EncodedPreferencePair.read(url, encoder: encoder, limits: limits, emit: emit)
            .filter { $0.chosen.trainedCount > 0 && $0.rejected.trainedCount > 0 }
            .enumerated().map {
                EncodedPair(
                    index: $0.offset, chosen: $0.element.chosen, rejected: $0.element.rejected,
                    label: $0.element.chosenProbability)
            }
    }

    /// Throws unless every sequence fits the model's context (the length limit is what keeps them in).
    static func requireFits(_ pairs: [EncodedPair], positions: Int, maxLength: Int) throws {
        let longest = pairs.map { max($0.chosen.ids.count, $0.rejected.ids.count) }.max() ?? 0
        guard longest <= positions else {
            let limit = maxLength > 0 ? "\(maxLength)" : "0 (no limit)"
            throw ConfigError(
                source: "config", line: nil,
                message: "'data.max_length' is \(limit), which lets through a "
                    + "\(longest)-token sequence, but the model has \(positions) positions; set data.max_length to \(positions) or less"
            )
        }
    }

    /// The chosen and rejected completions of `pairs` in one batch: the chosen rows, then the
    /// rejected rows.
    static func batch(_ pairs: [EncodedPair], padID: Int) throws -> CompletionBatch {
        try CompletionBatch(pairs.map(\.chosen) + pairs.map(\.rejected), padID: padID)
    }

    /// `model`'s summed completion log-probs of the pairs in `batch` (made by `batch(_:padID:)`).
    static func pairLogProbs(_ model: LanguageModel, _ batch: CompletionBatch) throws -> PairLogProbs {
        let sums = try batch.logProbs(model).sums
        let pairs = batch.sequences / 2
        let counts = batch.mask.counts
        return try PairLogProbs(
            chosen: sums.slice(axis: 0, 0..<pairs), rejected: sums.slice(axis: 0, pairs..<2 * pairs),
            chosenTokenCounts: Array(counts[..<pairs]), rejectedTokenCounts: Array(counts[pairs...]))
    }

    /// The preference loss of `pairs` under `policy` (differentiable) against `reference`.
    static func preferenceLoss(
        _ objective: PreferenceObjective, policy: LanguageModel, reference: ReferenceSource,
        pairs: [EncodedPair], padID: Int
    ) throws -> (scored: PreferenceObjective.Scored, batch: CompletionBatch) {
        let batch = try batch(pairs, padID: padID)
        let policyLogProbs = try pairLogProbs(policy, batch)
        let referenceLogProbs = try reference.logProbs(of: pairs, batch: batch, matching: policyLogProbs)
        let scored = try objective(
            policy: policyLogProbs, reference: referenceLogProbs, labels: pairs.map(\.label))
        return (scored, batch)
    }

    /// The reference the loss compares with, per `mode`.
    private func referenceSource(
        mode: ReferenceMode, folder: ChatModelFolder, policy: LanguageModel, pairs: [EncodedPair],
        dataURL: URL, padID: Int
    ) throws -> ReferenceSource {
        switch mode {
        case .none:
            emit(.note("\(config.loss.type): no reference model"))
            return .none
        case .model:
            emit(
                .note(
                    policy.adapters != nil
                        ? "reference: \(folder.url.path) with the LoRA adapters off"
                        : "reference: a frozen copy of \(folder.url.path)"))
            return .model(try folder.referenceModel(for: policy, device: device))
        case .cached:
            return .cached(
                try cachedReference(folder: folder, model: policy, pairs: pairs, dataURL: dataURL, padID: padID))
        }
    }

    /// The reference log-probs of `pairs` under `model` (the untrained policy) from their cache
    /// file in the runs' cache folder, or computed and cached there.
    private func cachedReference(
        folder: ChatModelFolder, model: LanguageModel, pairs: [EncodedPair], dataURL: URL,
        padID: Int
    ) throws -> ReferenceLogProbCache {
        let key = try ReferenceLogProbCache.key(
            modelFolder: folder.url, data: dataURL, template: config.data.template.rawValue, limits: config.data.limits,
            pairs: pairs.map { ($0.chosen, $0.rejected) })
        let url = ReferenceLogProbCache.url(in: run.cacheFolder, data: dataURL, key: key)
        if let cache = ReferenceLogProbCache.load(from: url, key: key, count: pairs.count) {
            emit(.note("reference log-probs: reused \(url.path)"))
            return cache
        }
        let started = Date()
        let cache = try Tensor.withNoGrad {
            try Self.referenceCache(model, pairs: pairs, key: key, padID: padID, batchSize: config.train.batchSize)
        }
        let computed =
            "reference log-probs: computed for \(pairs.count) pairs in \(String(format: "%.1f", Date().timeIntervalSince(started))) s"
        try cache.write(to: url)
        emit(.note("\(computed), cached in \(url.path)"))
        return cache
    }

    /// The cache of `model`'s log-probs of every pair, `batchSize` pairs per forward pass.
    static func referenceCache(_ model: LanguageModel, pairs: [EncodedPair], key: String, padID: Int, batchSize: Int)
        throws
        -> ReferenceLogProbCache
    {
        var cache = ReferenceLogProbCache(key: key, chosen: [], rejected: [])
        for start in stride(from: 0, to: pairs.count, by: max(batchSize, 1)) {
            let logProbs = try pairLogProbs(
                model, batch(Array(pairs[start..<min(start + batchSize, pairs.count)]), padID: padID))
            cache.chosen += try logProbs.chosen.values().map(Double.init)
            cache.rejected += try logProbs.rejected.values().map(Double.init)
        }
        return cache
    }
}

/// Where the frozen reference's log-probs come from.
enum ReferenceSource {
    /// No reference (SimPO, reference-free DPO).
    case none
    /// Precomputed, by pair index.
    case cached(ReferenceLogProbCache)
    /// A frozen model run on each batch.
    case model(LanguageModel)

    /// The reference log-probs of `pairs`, laid out as `batch` and `policy` (whose token counts
    /// they share).
    func logProbs(of pairs: [DPOStage.EncodedPair], batch: CompletionBatch, matching policy: PairLogProbs) throws
        -> PairLogProbs?
    {
        switch self {
        case .none:
            return nil
        case .model(let model):
            return try Tensor.withNoGrad { try DPOStage.pairLogProbs(model, batch) }
        case .cached(let cache):
            let device = policy.chosen.device
            func tensor(_ values: [Double], _ label: String) throws -> Tensor {
                try Tensor(
                    device: device, shape: [pairs.count], values: pairs.map { Float(values[$0.index]) }, label: label)
            }
            return try PairLogProbs(
                chosen: tensor(cache.chosen, "reference chosen log-probs"),
                rejected: tensor(cache.rejected, "reference rejected log-probs"),
                chosenTokenCounts: policy.chosenTokenCounts, rejectedTokenCounts: policy.rejectedTokenCounts)
        }
    }
}

/// A preference loss and its metrics over several batches, each weighed by its pairs: the
/// loss and TRL's reward figures as means over every pair seen (a metric that some batches do
/// not have, such as KTO's `rewards/rejected` in a batch of desirable completions only, over the
/// pairs of the batches that have it).
struct PreferenceSummary {
    private var pairs = 0
    private var lossSum = 0.0
    private var metricSums: [String: Double] = [:]
    private var metricPairs: [String: Int] = [:]

    /// Adds one batch's figures (`pairs` pairs).
    mutating func add(_ scored: PreferenceObjective.Scored, pairs count: Int) throws {
        pairs += count
        lossSum += Double(try scored.loss.scalar()) * Double(count)
        var metrics = scored.preference.metrics
        if let nll = scored.chosenNLL { metrics["nll_loss"] = Double(try nll.scalar()) }
        for (name, value) in metrics {
            metricSums[name, default: 0] += value * Double(count)
            metricPairs[name, default: 0] += count
        }
    }

    /// The mean loss over the pairs.
    var loss: Double { lossSum / Double(max(pairs, 1)) }

    /// The mean of each metric, named with `prefix`.
    func metrics(prefix: String) -> [String: Double] {
        Dictionary(
            uniqueKeysWithValues: metricSums.map { (prefix + $0.key, $0.value / Double(max(metricPairs[$0.key]!, 1))) })
    }
}
