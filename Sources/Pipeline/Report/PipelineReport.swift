import Datasets
import Formats
import Foundation
import TinyWorld

/// A model the pipeline trains and evaluates, in pipeline order (GRPO only when the recipe's
/// `stages` asks for it).
public enum PipelineModel: String, Codable, CodingKeyRepresentable, CaseIterable, Sendable {
    case base, sft, dpo, ppo, grpo
}

/// A stage of the pipeline whose wall time the report lists, in pipeline order.
public enum PipelineStage: String, Codable, CodingKeyRepresentable, CaseIterable, Sendable {
    case data, tokenizer, pretrain, sft, reward, dpo, ppo, grpo, eval

    /// Whether `seconds` always has its key (`null` when it did not run): every stage but the
    /// optional GRPO, whose key appears only when it ran.
    var isAlwaysReported: Bool { self != .grpo }
}

/// What `gputrain pipeline` found, written as `report.json` (this type, exactly) and as a
/// readable `report.md` (`markdown(samples:plots:)`):
///
/// ```json
/// {"models": {"base" | "sft" | "dpo" | "ppo": ModelScorecard},
///  "reward_model": {"heldout_accuracy": 0.9, "heldout_accuracy_by_kind": {"padded": 0.8, …}},
///  "seconds": {"data", "tokenizer", "pretrain", "sft", "reward", "dpo", "ppo", "eval"}}
/// ```
///
/// Models the run did not train are absent from "models"; every other key is always written,
/// `null` when it does not apply (a stage that did not run, a run without reward model).
public struct PipelineReport: Codable, Equatable, Sendable {
    /// How often the reward model prefers the chosen answer of a held-out preference pair.
    public struct RewardModelAccuracy: Codable, Equatable, Sendable {
        /// Over every held-out pair.
        public var heldoutAccuracy: Double
        /// Per `rejected_kind` of the pairs.
        public var heldoutAccuracyByKind: [String: Double]

        enum CodingKeys: String, CodingKey {
            case heldoutAccuracy = "heldout_accuracy"
            case heldoutAccuracyByKind = "heldout_accuracy_by_kind"
        }

        public init(heldoutAccuracy: Double, heldoutAccuracyByKind: [String: Double]) {
            self.heldoutAccuracy = heldoutAccuracy
            self.heldoutAccuracyByKind = heldoutAccuracyByKind
        }

        /// The accuracies of pairwise outcomes: each pair's rejected kind (if known) and whether
        /// the reward model scored chosen above rejected. Over no outcomes the accuracy is 0.
        public init(outcomes: [(kind: String?, correct: Bool)]) {
            func accuracy(_ outcomes: [(kind: String?, correct: Bool)]) -> Double {
                outcomes.isEmpty ? 0 : Double(outcomes.filter(\.correct).count) / Double(outcomes.count)
            }
            heldoutAccuracy = accuracy(outcomes)
            heldoutAccuracyByKind = Dictionary(grouping: outcomes.filter { $0.kind != nil }, by: { $0.kind! })
                .mapValues(accuracy)
        }
    }

    /// Seconds per stage; `nil` for a stage that did not run.
    public struct StageSeconds: Codable, Equatable, Sendable {
        public var seconds: [PipelineStage: Double]

        public init(_ seconds: [PipelineStage: Double] = [:]) { self.seconds = seconds }

        public subscript(stage: PipelineStage) -> Double? {
            get { seconds[stage] }
            set { seconds[stage] = newValue }
        }

        /// Every stage's key, `null` when it did not run.
        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: StageKey.self)
            for stage in PipelineStage.allCases where stage.isAlwaysReported || seconds[stage] != nil {
                try container.encodeOrNull(seconds[stage], forKey: StageKey(stage))
            }
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: StageKey.self)
            seconds = [:]
            for stage in PipelineStage.allCases {
                seconds[stage] = try container.decodeIfPresent(Double.self, forKey: StageKey(stage))
            }
        }
    }

    public var models: [PipelineModel: ModelScorecard]
    /// `nil` when the run trained no reward model.
    public var rewardModel: RewardModelAccuracy?
    public var seconds: StageSeconds
    /// Where the reward model's and DPO's preferences came from (`preferences.source`); nil
    /// when the run trained on no preferences.
    public var preferencesSource: String?

    enum CodingKeys: String, CodingKey {
        case models, seconds
        case rewardModel = "reward_model"
        case preferencesSource = "preferences_source"
    }

    public init(
        models: [PipelineModel: ModelScorecard] = [:], rewardModel: RewardModelAccuracy? = nil,
        seconds: StageSeconds = StageSeconds()
    ) {
        self.models = models
        self.rewardModel = rewardModel
        self.seconds = seconds
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(models, forKey: .models)
        try container.encodeOrNull(rewardModel, forKey: .rewardModel)
        try container.encode(seconds, forKey: .seconds)
        try container.encodeOrNull(preferencesSource, forKey: .preferencesSource)
    }

    /// The report's name in the pipeline's folder.
    public static let jsonName = "report.json"
    /// The readable report's name.
    public static let markdownName = "report.md"

    /// `report.json` as written: pretty-printed, keys sorted (so reruns diff cleanly).
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// Writes `report.json` and `report.md` into `directory`, each atomically. `samples` are the
    /// conversations shown per model (see `sampleAnswers`), `plots` the stages with a
    /// `plots/<stage>.svg` (see `MetricsPlot`).
    public func write(to directory: URL, samples: [PipelineModel: [ChatAnswer]] = [:], plots: [String] = []) throws {
        try AtomicFile.write(jsonData(), to: directory.appendingPathComponent(Self.jsonName))
        try AtomicFile.write(
            Data(markdown(samples: samples, plots: plots).utf8), to: directory.appendingPathComponent(Self.markdownName)
        )
    }

    /// The report in `file` (a `report.json`).
    public static func read(_ file: URL) throws -> PipelineReport {
        do {
            return try JSONDecoder().decode(PipelineReport.self, from: Data(contentsOf: file))
        } catch {
            throw FormatError(file: file.path, "is not a pipeline report (\(error))")
        }
    }

    /// `count` answers to show: the first answer of each answer style (no system prompt, one
    /// word, full sentence), then the earliest others, in question order. Pick from each model's
    /// answers to the same questions and the samples line up across models.
    public static func sampleAnswers(_ answers: [ChatAnswer], count: Int = 3) -> [ChatAnswer] {
        let firstOfEachStyle = AnswerStyle.allCases.compactMap { style in
            answers.firstIndex { $0.question.style == style }
        }
        let rest = answers.indices.filter { !firstOfEachStyle.contains($0) }
        return (firstOfEachStyle + rest).prefix(count).sorted().map { answers[$0] }
    }
}

/// A stage's name as a JSON key.
private struct StageKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }

    init(_ stage: PipelineStage) { stringValue = stage.rawValue }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
