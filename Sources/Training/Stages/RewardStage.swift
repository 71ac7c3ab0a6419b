import Core
import Datasets
import Formats
import Foundation
import Inference
import Models
import Tensors

/// Stage 3, the reward model: a scalar head (`score.weight`) on the backbone of
/// `model.init_from` (normally the SFT model), trained on preference pairs with the
/// Bradley–Terry loss so the chosen completion scores above the rejected one (TRL's
/// `RewardTrainer`). The score is read at the last token of prompt + completion.
///
/// The chosen and rejected completions of a micro-batch run as one batch of 2B sequences (one
/// forward pass); a pair's `margin` (when the data gives one for every pair) is subtracted
/// inside the sigmoid. A held-out share of the pairs measures accuracy overall and per
/// `rejected_kind`; the end writes `final/` (transformers' `*ForSequenceClassification`, one
/// label) and `reward_report.json`.
public final class RewardStage: TrainingStage<RewardConfig> {
    /// Trains and returns the final model folder, or nil when interrupted (after checkpointing).
    @discardableResult
    public func train() throws -> URL? {
        try config.validate()
        let folder = try ChatModelFolder(url: config.model.folder(stage: "Reward modelling"), templateName: config.data.template.rawValue)
        let pairs = try Self.pairs(from: URL(fileURLWithPath: config.data.path), encoder: folder.encoder,
                                   limits: config.data.limits, emit: emit)
        let (trainSet, heldout) = EpochOrder.split(pairs, heldoutFraction: config.data.heldoutFraction, seed: UInt64(config.train.seed))
        guard !trainSet.isEmpty else {
            throw ConfigError(source: "config", line: nil, message: "'data.path' (\(config.data.path)) has no preference pair "
                + "that fits max_length \(config.data.maxLength); raise data.max_length or set data.max_prompt_length")
        }
        try requireMemory(for: [PlannedModel(folder: folder.url, trained: true, scalarHead: true, sequencesPerBatch: 2 * config.train.batchSize)])
        let model = try ScalarHeadModel.load(folder.url, device: device, lora: config.lora, headSeed: UInt64(config.train.seed))
        let padID = folder.padID(config: model.config)
        let scorer = RewardScorer(model: model, encoder: folder.encoder, padID: padID, batchSize: 2 * config.train.batchSize)
        let loop = try makeLoop(training: [("model", model.parameters)], adapters: [model.backbone.adapters])
        let trainee = loop.trainees[0]
        let order = EpochOrder(count: trainSet.count, seed: UInt64(config.train.seed))
        let t = config.train
        let loss = BradleyTerryLoss(centeringCoefficient: Float(config.centerRewardsCoefficient))
        let finished = try loop(step: { step, learningRate in
            try model.parameters.zeroGrad()
            var result = StageLoop.StepResult(loss: 0, gradientNorm: 0, tokens: 0)
            var accuracy = 0.0, margin = 0.0, meanReward = 0.0
            for micro in 0..<t.gradientAccumulation {
                let batch = order.batch(step * t.gradientAccumulation + micro, size: t.batchSize).map { trainSet[$0] }
                let output = try Self.loss(loss, model: model, pairs: batch, padID: padID)
                let share = try output.loss.scaled(by: 1 / Float(t.gradientAccumulation))
                try share.backward()
                result.loss += Double(try share.scalar())
                result.tokens += output.tokens
                accuracy += output.accuracy / Double(t.gradientAccumulation)
                margin += output.meanMargin / Double(t.gradientAccumulation)
                meanReward += output.meanReward / Double(t.gradientAccumulation)
            }
            result.gradientNorm = Double(try loop.update(trainee, learningRate: learningRate))
            result.extra = ["accuracy": accuracy, "margin": margin, "mean_reward": meanReward]
            return result
        }, evaluate: heldout.isEmpty ? nil : {
            try scorer.evaluate(heldout, centeringCoefficient: self.config.centerRewardsCoefficient).metrics()
        })
        guard finished else { return nil }
        try Self.save(model, to: run.finalModelURL, tokenizerFrom: folder, padID: padID)
        let report = try RewardReport(heldout: heldout.isEmpty ? nil : scorer.evaluate(heldout, centeringCoefficient: config.centerRewardsCoefficient),
                                      train: scorer.evaluate(trainSet, centeringCoefficient: config.centerRewardsCoefficient))
        try report.write(to: run.url)
        emit(.note(report.summary))
        emit(.finished(step: t.steps, finalModel: run.finalModelURL.path))
        return run.finalModelURL
    }

    /// The pairs of `url` encoded with `encoder` and fitted to `limits` (both sides lose the
    /// same prompt tokens; dropped pairs counted in a note), each with its `rejected_kind` and
    /// `margin`.
    public static func pairs(from url: URL, encoder: ChatEncoder, limits: ChatLengthLimits,
                             emit: (TrainingEvent) -> Void = { _ in }) throws -> [EncodedPreferencePair] {
        let pairs = try PreferenceDataset.read(url)
        let margins = try PreferenceMargins.read(url, pairs: pairs.count)
        var filter = ChatLengthFilter(limits: limits)
        let encoded = try pairs.enumerated().compactMap { index, pair -> EncodedPreferencePair? in
            guard let fitted = filter.fit(try encoder.encode(pair)) else { return nil }
            return EncodedPreferencePair(chosen: fitted.chosen, rejected: fitted.rejected, kind: pair.rejectedKind, margin: margins?[index])
        }
        emit(.note(filter.report.summary(of: "preference pairs in \(url.lastPathComponent)", limits: limits)))
        return encoded
    }

    /// What one micro-batch's loss gives besides the loss.
    struct MicroBatchOutput {
        var loss: Tensor
        var accuracy: Double
        var meanMargin: Double
        var meanReward: Double
        var tokens: Int
    }

    /// The Bradley–Terry loss of `pairs`: chosen and rejected sequences scored in one batch
    /// (chosen first, then rejected), the scores split in two.
    static func loss(_ loss: BradleyTerryLoss, model: ScalarHeadModel, pairs: [EncodedPreferencePair], padID: Int) throws -> MicroBatchOutput {
        let count = pairs.count
        let batch = try CompletionBatch(pairs.map(\.chosen) + pairs.map(\.rejected), padID: padID)
        let scores = try batch.scores(model)
        let margins = pairs.allSatisfy { $0.margin != nil } ? pairs.map { $0.margin! } : nil
        let output = try loss(chosen: scores.slice(axis: 0, 0..<count), rejected: scores.slice(axis: 0, count..<2 * count), margins: margins)
        let rewards = try scores.detached().values()
        return MicroBatchOutput(loss: output.loss, accuracy: output.accuracy, meanMargin: output.meanMargin,
                                meanReward: rewards.reduce(0) { $0 + Double($1) } / Double(rewards.count), tokens: batch.ids.count)
    }

    /// Writes a reward model folder: the model in transformers' sequence-classification layout,
    /// with the pad id in `config.json` (transformers needs one to find the last token of padded
    /// rows), and `folder`'s tokenizer files.
    static func save(_ model: ScalarHeadModel, to url: URL, tokenizerFrom folder: ChatModelFolder, padID: Int) throws {
        var config = model.config
        if config.padTokenID == nil { config.padTokenID = padID }
        try folder.saveTrained(model.parameters, specs: ScalarHeadModel.specs(for: config), config: config,
                               adapters: model.backbone.adapters, taskType: "SEQ_CLS", savedParameters: [ScalarHeadModel.headName], to: url)
    }
}

/// `reward_report.json` in the run folder: what the pipeline report shows of the reward model.
public struct RewardReport: Codable, Equatable, Sendable {
    /// Accuracy on the held-out pairs (absent when none were held out).
    public var heldoutAccuracy: Double?
    /// Held-out accuracy per `rejected_kind`.
    public var heldoutAccuracyByKind: [String: Double]
    /// Held-out pairs.
    public var heldoutPairs: Int
    /// Accuracy of the final model on its training pairs.
    public var trainAccuracy: Double

    enum CodingKeys: String, CodingKey {
        case heldoutAccuracy = "heldout_accuracy", heldoutAccuracyByKind = "heldout_accuracy_by_kind"
        case heldoutPairs = "heldout_pairs", trainAccuracy = "train_accuracy"
    }

    /// The report from the final model's evaluations.
    public init(heldout: PreferenceEvaluation?, train: PreferenceEvaluation) {
        heldoutAccuracy = heldout?.accuracy
        heldoutAccuracyByKind = heldout?.accuracyByKind ?? [:]
        heldoutPairs = heldout?.pairs ?? 0
        trainAccuracy = train.accuracy
    }

    /// The file's name in the run folder.
    public static let fileName = "reward_report.json"

    /// Reads the report of the run in `runDirectory`.
    public static func read(from runDirectory: URL) throws -> RewardReport {
        let url = runDirectory.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FormatError(file: url.path, "missing; the reward stage writes it when it finishes")
        }
        return try JSONDecoder().decode(RewardReport.self, from: data)
    }

    /// Writes the report into `runDirectory`.
    public func write(to runDirectory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(self), to: runDirectory.appendingPathComponent(Self.fileName))
    }

    /// One line for the run's output.
    var summary: String {
        var line = String(format: "reward model: train accuracy %.3f", trainAccuracy)
        if let heldoutAccuracy {
            line += String(format: ", held-out accuracy %.3f on %d pairs", heldoutAccuracy, heldoutPairs)
            let kinds = heldoutAccuracyByKind.sorted { $0.key < $1.key }.map { "\($0.key) " + String(format: "%.3f", $0.value) }
            if !kinds.isEmpty { line += " (" + kinds.joined(separator: ", ") + ")" }
        }
        return line
    }
}

/// The optional `margin` field of preference lines (TRL's reward-data margin): how much
/// better the chosen completion is, subtracted inside the Bradley–Terry sigmoid.
enum PreferenceMargins {
    /// One margin per pair line of `url` (the non-blank lines, in the order `PreferenceDataset`
    /// reads them), or nil when no line has one. A margin on some lines but not others, or one
    /// that is not a number, is an error naming the line.
    static func read(_ url: URL, pairs: Int) throws -> [Float]? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        var margins: [(line: Int, value: Float?)] = []
        for (index, text) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !text.allSatisfy(\.isWhitespace) {
            let line = index + 1
            guard let value = try JSONValue.parse(Data(text.utf8), file: url.path).objectValue?["margin"], !value.isNull else {
                margins.append((line, nil))
                continue
            }
            guard let number = value.doubleValue, number.isFinite else {
                throw DatasetError.line(url.path, line, "\"margin\" should be a finite number, found \(value.kindName)")
            }
            margins.append((line, Float(number)))
        }
        guard margins.contains(where: { $0.value != nil }) else { return nil }
        if let missing = margins.first(where: { $0.value == nil }) {
            throw DatasetError.line(url.path, missing.line, "has no \"margin\" while other lines have one; give every pair a margin or none")
        }
        precondition(margins.count == pairs, "one margin per preference line")
        return margins.map { $0.value! }
    }
}
