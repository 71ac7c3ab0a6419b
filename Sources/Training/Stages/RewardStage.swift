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
public final class RewardStage: TrainingStage<RewardConfig>, RunnableStage, PostTrainingStage {
    static let title = "Reward modelling"
    static let itemName = "preference pair"

    /// The reward model, its padding id, the loss and the scorer its evaluations use.
    struct Session {
        let model: ScalarHeadModel
        let padID: Int
        let loss: BradleyTerryLoss
        let scorer: RewardScorer
    }

    /// Trains and returns the final model folder, or nil when interrupted (after checkpointing).
    @discardableResult
    public func train() throws -> URL? { try runPostTraining(self) }

    func read(_ folder: ChatModelFolder) throws -> [EncodedPreferencePair] {
        try EncodedPreferencePair.read(
            URL(fileURLWithPath: config.data.path), encoder: folder.encoder, limits: config.data.limits, emit: emit)
    }

    func plannedModels(_ folder: ChatModelFolder) -> [PlannedModel] {
        [
            PlannedModel(
                folder: folder.url, trained: true, scalarHead: true, sequencesPerBatch: 2 * config.train.batchSize)
        ]
    }

    func load(_ folder: ChatModelFolder, data: StageData<EncodedPreferencePair>) throws -> Session {
        let model = try ScalarHeadModel.load(
            folder.url, device: device, lora: config.lora, headSeed: UInt64(config.train.seed))
        let padID = folder.padID(config: model.config)
        return Session(
            model: model, padID: padID,
            loss: BradleyTerryLoss(centeringCoefficient: Float(config.centerRewardsCoefficient)),
            scorer: RewardScorer(
                model: model, encoder: folder.encoder, padID: padID, batchSize: 2 * config.train.batchSize))
    }

    func trainees(of session: Session) -> [TrainedModel] {
        [TrainedModel(name: "model", parameters: session.model.parameters, adapters: session.model.backbone.adapters)]
    }

    func step(_ session: Session, batches: [[EncodedPreferencePair]], index: Int, update: () throws -> Float) throws
        -> StageLoop.StepResult
    {
        try session.model.parameters.zeroGrad()
        var result = StageLoop.StepResult(loss: 0, gradientNorm: 0, tokens: 0)
        var accuracy = 0.0
        var margin = 0.0
        var meanReward = 0.0
        let total = Double(batches.reduce(0) { $0 + $1.count })
        let shares = try GradientAccumulation.backward(batches, units: \.count, reduction: .mean) { _, pairs in
            let output = try Self.loss(session.loss, model: session.model, pairs: pairs, padID: session.padID)
            let share = Double(pairs.count) / total
            result.tokens += output.tokens
            accuracy += output.accuracy * share
            margin += output.meanMargin * share
            meanReward += output.meanReward * share
            return output.loss
        }
        result.loss = try GradientAccumulation.sum(shares)
        result.gradientNorm = Double(try update())
        result.extra = ["accuracy": accuracy, "margin": margin, "mean_reward": meanReward]
        return result
    }

    func evaluate(_ session: Session, heldout: [EncodedPreferencePair]) throws -> [String: Double] {
        try session.scorer.evaluate(heldout, centeringCoefficient: config.centerRewardsCoefficient).metrics()
    }

    /// The reward model (transformers' sequence-classification layout) and `reward_report.json`.
    func save(_ session: Session, folder: ChatModelFolder, data: StageData<EncodedPreferencePair>, to url: URL)
        throws
    {
        try folder.saveScalarHeadModel(session.model, to: url, padID: session.padID)
        let c = config.centerRewardsCoefficient
        let report = try RewardReport(
            heldout: data.heldout.isEmpty ? nil : session.scorer.evaluate(data.heldout, centeringCoefficient: c),
            train: session.scorer.evaluate(data.train, centeringCoefficient: c))
        try report.write(to: run.url)
        emit(.note(report.summary))
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
    static func loss(_ loss: BradleyTerryLoss, model: ScalarHeadModel, pairs: [EncodedPreferencePair], padID: Int)
        throws -> MicroBatchOutput
    {
        let count = pairs.count
        let batch = try CompletionBatch(pairs.map(\.chosen) + pairs.map(\.rejected), padID: padID)
        let scores = try batch.scores(model)
        let margins = pairs.allSatisfy { $0.margin != nil } ? pairs.map { $0.margin! } : nil
        let output = try loss(
            chosen: scores.slice(axis: 0, 0..<count), rejected: scores.slice(axis: 0, count..<2 * count),
            margins: margins, chosenProbabilities: pairs.map(\.chosenProbability))
        let rewards = try scores.detached().values()
        return MicroBatchOutput(
            loss: output.loss, accuracy: output.accuracy, meanMargin: output.meanMargin,
            meanReward: rewards.reduce(0) { $0 + Double($1) } / Double(rewards.count), tokens: batch.ids.count)
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
        case heldoutAccuracy = "heldout_accuracy"
        case heldoutAccuracyByKind = "heldout_accuracy_by_kind"
        case heldoutPairs = "heldout_pairs"
        case trainAccuracy = "train_accuracy"
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
            let kinds = heldoutAccuracyByKind.sorted { $0.key < $1.key }.map {
                "\($0.key) " + String(format: "%.3f", $0.value)
            }
            if !kinds.isEmpty { line += " (" + kinds.joined(separator: ", ") + ")" }
        }
        return line
    }
}
