import Core
import Formats
import Foundation

/// The range checks of the sections every recipe shares, run as the recipe loads
/// (`Configuration.validate`), before any file it names is opened or anything is allocated.
/// Each error names the key, the value and the valid range (`ConfigError.value`); the loader
/// adds the file and line.
extension RunSettings {
    /// A run name is a plain folder name, so the run folder stays inside `run.out`.
    public static let namePattern = "[A-Za-z0-9][A-Za-z0-9._-]*"

    /// Whether `name` is a plain folder name (`namePattern`).
    public static func isPlainName(_ name: String) -> Bool {
        func isAlphanumeric(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }
        guard let first = name.first, isAlphanumeric(first) else { return false }
        return name.allSatisfy { isAlphanumeric($0) || "._-".contains($0) }
    }

    /// Whether `path` names a place inside the runs' folder: relative, without `..`.
    public static func isInsideRunsFolder(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.hasPrefix("~") else { return false }
        return !path.split(separator: "/").contains("..")
    }

    func validate() throws {
        try ConfigError.require(
            name.isEmpty || Self.isPlainName(name), "run.name", "'\(name)'",
            mustBe: "a plain folder name (\(Self.namePattern)), or empty for the recipe's own name")
        try ConfigError.require(!out.isEmpty, "run.out", "''", mustBe: "a folder")
    }
}

extension KernelVariant {
    /// Throws unless a recipe's `kernels:` is empty (the environment decides) or names a variant.
    public static func requireRecipeValue(_ value: String) throws {
        try ConfigError.require(
            value.isEmpty || KernelVariant(rawValue: value) != nil, "kernels", "'\(value)'",
            mustBe: "\(choices), or empty")
    }
}

extension LoopSchedule {
    /// The checks of the loop's counts (`train:`).
    func validateSchedule(batchSize: Int, gradientAccumulation: Int) throws {
        try ConfigError.require(steps >= 1, "train.steps", steps, mustBe: "at least 1")
        try ConfigError.require(batchSize >= 1, "train.batch_size", batchSize, mustBe: "at least 1")
        try ConfigError.require(batchSize <= 1 << 20, "train.batch_size", batchSize, mustBe: "at most \(1 << 20)")
        try ConfigError.require(
            gradientAccumulation >= 1, "train.gradient_accumulation", gradientAccumulation, mustBe: "at least 1")
        try ConfigError.require(evalEvery >= 0, "train.eval_every", evalEvery, mustBe: "0 (off) or more")
        try ConfigError.require(checkpointEvery >= 0, "train.checkpoint_every", checkpointEvery, mustBe: "0 or more")
        try ConfigError.require(seed >= 0, "train.seed", seed, mustBe: "0 or more")
        try ConfigError.require(
            keepCheckpoints >= 0, "train.keep_checkpoints", keepCheckpoints, mustBe: "0 (keep all) or more")
        try ConfigError.require(maxSkippedSteps >= 0, "train.max_skipped_steps", maxSkippedSteps, mustBe: "0 or more")
    }
}

extension LoopSettings {
    func validate() throws { try validateSchedule(batchSize: batchSize, gradientAccumulation: gradientAccumulation) }
}

extension OptimizerSettings {
    func validate() throws {
        func positive(_ value: Double, _ key: String) throws {
            try ConfigError.require(value > 0 && value.isFinite, key, value, mustBe: "a positive number")
        }
        func fraction(_ value: Double, _ key: String) throws {
            try ConfigError.require((0..<1).contains(value), key, value, mustBe: "in [0, 1)")
        }
        try positive(learningRate, "optim.learning_rate")
        try ConfigError.require(warmupSteps >= 0, "optim.warmup_steps", warmupSteps, mustBe: "0 or more")
        try ConfigError.require(
            weightDecay >= 0 && weightDecay.isFinite, "optim.weight_decay", weightDecay, mustBe: "0 or more")
        try fraction(beta1, "optim.beta1")
        try fraction(beta2, "optim.beta2")
        try positive(epsilon, "optim.epsilon")
        try ConfigError.require(
            gradientClip >= 0 && gradientClip.isFinite, "optim.gradient_clip", gradientClip, mustBe: "0 (off) or more")
    }
}

extension ChatDataSettings {
    func validate() throws {
        try ConfigError.require(
            (0..<1).contains(heldoutFraction), "data.heldout_fraction", heldoutFraction, mustBe: "in [0, 1)")
        try ConfigError.require(maxLength >= 0, "data.max_length", maxLength, mustBe: "0 (no limit) or more")
        try ConfigError.require(
            maxPromptLength >= 0 && (maxLength == 0 || maxPromptLength < maxLength), "data.max_prompt_length",
            maxPromptLength, mustBe: "0 (no limit) or less than data.max_length (\(maxLength))")
    }
}

extension LoRASettings {
    /// The most rank a recipe may ask for; the adapters also refuse a rank above a matrix's size.
    static let maxRank = 4096

    func validate() throws {
        if let problem { throw ConfigError(source: "config", line: nil, message: problem) }
        try ConfigError.require(r <= Self.maxRank, "lora.r", r, mustBe: "at most \(Self.maxRank)")
    }
}
