import Core
import Datasets
import Formats
import Foundation

/// One entry of a stage's `rewards:` list: a reward function by name and its weight
/// (`{name: exact_match, weight: 1.0}`; the weight defaults to 1).
public struct RewardSpec: Codable, Equatable, Sendable {
    public var name: String
    public var weight: Double

    public init(name: String, weight: Double = 1) {
        self.name = name
        self.weight = weight
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case name, weight
    }

    /// Reads an entry; a key other than `name` and `weight` is an error (a typo would otherwise
    /// silently keep the default).
    public init(from decoder: Decoder) throws {
        let keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        if let unknown = keys.first(where: { CodingKeys(rawValue: $0) == nil }) {
            throw ConfigError(
                source: "config", line: nil,
                message: "'rewards' entry has unknown key '\(unknown)'; "
                    + "an entry looks like {name: exact_match, weight: 1.0}")
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        weight = try container.decodeIfPresent(Double.self, forKey: .weight) ?? 1
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// The reward functions a config names, with their weights: the reward of a completion is the
/// weighted sum (TRL's `reward_funcs` and `reward_weights`).
public struct RewardSet {
    /// The names a config may choose from.
    public static let choices = ["exact_match", "format", "length", "reward_model"]

    /// What some reward functions need besides their name.
    public struct Options {
        /// The reward model folder for `reward_model`.
        public var rewardModel: String
        /// Words at which `length` reaches 0.
        public var lengthLimit: Int

        public init(rewardModel: String = "", lengthLimit: Int = 32) {
            self.rewardModel = rewardModel
            self.lengthLimit = lengthLimit
        }
    }

    /// The functions in config order, each with its weight.
    public let entries: [(function: RewardFunction, weight: Double)]

    /// The rewards `specs` name (checked by `validate` first).
    public init(specs: [RewardSpec], options: Options, device: Device) throws {
        try Self.validate(specs, options: options)
        entries = try specs.map { spec in
            (try Self.make(spec.name, options: options, device: device), spec.weight)
        }
    }

    /// Throws unless `specs` can be built: an empty list, an unknown or repeated name, a weight
    /// that is not a number or an option out of range is an error naming the key and what to write.
    public static func validate(_ specs: [RewardSpec], options: Options) throws {
        try ConfigError.require(
            !specs.isEmpty, "rewards", "[]",
            mustBe: "at least one of \(choices.joined(separator: ", ")), e.g. [{name: exact_match, weight: 1.0}]")
        var seen = Set<String>()
        for spec in specs {
            guard choices.contains(spec.name) else {
                var message = "unknown reward '\(ConfigError.shortened(spec.name))'"
                if let suggestion = ConfigLoader.closest(to: spec.name, in: choices) {
                    message += "; did you mean '\(suggestion)'?"
                }
                throw ConfigError(
                    source: "config", line: nil, key: "rewards",
                    message: message + " Choose from: \(choices.joined(separator: ", "))")
            }
            try ConfigError.require(seen.insert(spec.name).inserted, "rewards", spec.name, mustBe: "named once each")
            try ConfigError.require(
                spec.weight.isFinite, "rewards", "\(spec.name) weight \(spec.weight)", mustBe: "weighted by a number")
        }
        if seen.contains("length") { _ = try LengthReward(limit: options.lengthLimit) }
        if seen.contains("reward_model") {
            try ConfigError.require(
                !options.rewardModel.isEmpty, "reward_model", "''",
                mustBe: "a reward model folder (e.g. a reward run's final/) for the 'reward_model' reward")
        }
    }

    /// The reward function `name` (one of `choices`).
    private static func make(_ name: String, options: Options, device: Device) throws -> RewardFunction {
        switch name {
        case "exact_match": return ExactMatchReward()
        case "format": return FormatReward()
        case "length": return try LengthReward(limit: options.lengthLimit)
        default: return try RewardModelReward(folder: URL(fileURLWithPath: options.rewardModel), device: device)
        }
    }

    /// The names in config order.
    public var names: [String] { entries.map(\.function.name) }

    /// The rewards of each completion: per function (by name) and the weighted total.
    public func score(prompts: [RLPrompt], completions: [String]) throws -> (
        total: [Double], byName: [String: [Double]]
    ) {
        var total = [Double](repeating: 0, count: completions.count)
        var byName: [String: [Double]] = [:]
        for (function, weight) in entries {
            let rewards = try function.rewards(prompts: prompts, completions: completions)
            byName[function.name] = rewards
            for index in total.indices { total[index] += weight * rewards[index] }
        }
        return (total, byName)
    }

    /// Throws unless every prompt has the fields the rewards read, naming the file and line of
    /// the first that lacks one. `prompts` are the lines of `url` in order.
    public func requireFields(of prompts: [RLPrompt], in url: URL) throws {
        for (function, _) in entries {
            for field in function.requiredFields {
                guard let index = prompts.firstIndex(where: { $0.fields[field] == nil || $0.fields[field]!.isNull })
                else { continue }
                let line = try Self.lineNumbers(of: url)[index]
                throw DatasetError.line(
                    url.path, line,
                    "the prompt has no \"\(field)\", which the '\(function.name)' reward reads; "
                        + "add it to every line or choose other rewards")
            }
        }
    }

    /// The line number of each non-blank line of `url` (how the JSONL readers count records).
    static func lineNumbers(of url: URL) throws -> [Int] {
        try TextLines.read(url).filter { !$0.isBlank }.map(\.number)
    }
}
