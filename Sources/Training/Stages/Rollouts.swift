import Core
import Datasets
import Formats
import Foundation
import Models

/// How an online RL stage (PPO, GRPO) samples its responses (the `rollout:` section): TRL's
/// `temperature`, `top_k`, `top_p` and `response_length` / `max_completion_length`.
public struct RolloutSettings: Codable, Equatable, Sendable {
    /// New tokens per response at most (TRL PPO `response_length`, GRPO `max_completion_length`).
    public var maxNewTokens = 48
    /// Sampling temperature; 0 is greedy (no exploration, so only for evaluation). The same
    /// temperature divides the logits when the stage computes log-probs, as TRL does.
    public var temperature = 1.0
    /// Keep the `top_k` most likely tokens; 0 keeps all.
    public var topK = 0
    /// Nucleus sampling mass; 1 keeps all.
    public var topP = 1.0

    public init() {}

    /// The temperature log-probs are taken at: the sampling temperature, none when greedy.
    public var logProbTemperature: Float? { temperature > 0 ? Float(temperature) : nil }

    /// The generator's options for a rollout drawn from `seed`, stopping at `stopTokens`.
    func generationOptions(seed: UInt64, stopTokens: Set<Int32>) -> GenerationOptions {
        GenerationOptions(
            maxNewTokens: maxNewTokens, stopTokens: stopTokens,
            sampling: SamplingOptions(
                temperature: Float(temperature), topK: topK > 0 ? topK : nil, topP: Float(topP), seed: seed))
    }

    /// Throws unless every setting is in range, naming the key.
    public func validate() throws {
        try ConfigError.require(maxNewTokens >= 1, "rollout.max_new_tokens", maxNewTokens, mustBe: "at least 1")
        try ConfigError.require(
            maxNewTokens <= 1 << 20, "rollout.max_new_tokens", maxNewTokens, mustBe: "at most \(1 << 20)")
        try ConfigError.require(
            temperature >= 0 && temperature.isFinite, "rollout.temperature", temperature,
            mustBe: "0 (greedy) or a positive number")
        try ConfigError.require(topK >= 0, "rollout.top_k", topK, mustBe: "0 (off) or positive")
        try ConfigError.require(topP > 0 && topP <= 1, "rollout.top_p", topP, mustBe: "in (0, 1]")
    }
}

/// An RL prompt with its token ids (rendered with an open assistant turn and fitted to the
/// length limits), ready for generation.
public struct EncodedPrompt: Sendable {
    /// The prompt as read, with its other fields (reference answers for a reward function).
    public var prompt: RLPrompt
    /// The ids generation continues.
    public var ids: [Int]
}

/// The responses of one rollout: for each prompt row, the sampled response and what the
/// losses need of it.
public struct Rollout: Sendable {
    /// The prompt ids of each row.
    public var promptIDs: [[Int]]
    /// The response ids of each row, ending with the stop token when the row stopped on it.
    public var responseIDs: [[Int]]
    /// Whether each response ended with a stop token (rather than running out of tokens).
    public var endedWithStop: [Bool]
    /// Each response decoded, without its final stop token.
    public var texts: [String]
    /// Prompt + response per row, labelled on the response tokens (stop token included): the
    /// input of `CompletionBatch`. A response that ended its turn is followed, unlabelled, by
    /// what the chat template writes after an end-of-turn token (ChatML's newline), so the
    /// sequence ends as the chats a reward model was trained on do and its score, read at the
    /// last token, is read where it learned to give it.
    public var examples: [ChatExample]
    /// Tokens generated in all rows.
    public var generatedTokens: Int
    /// Wall time of the generation.
    public var seconds: Double

    /// Generated tokens per second.
    public var tokensPerSecond: Double { Double(generatedTokens) / max(seconds, 1e-9) }

    /// Mean response length in tokens.
    public var meanResponseLength: Double { Double(generatedTokens) / Double(max(responseIDs.count, 1)) }
}

/// Sampling rollouts from a policy: prompts are read and fitted once (`encode`), then each step
/// generates responses for its prompts in one batch with the KV cache (`generate`).
///
/// A rollout is a pure function of the policy's weights, the prompts and the seed (each row
/// draws from its own stream derived from the seed and the row), so a stage that derives the
/// seed from its step index (`seed(base:step:)`) resumes onto exactly the rollouts an
/// uninterrupted run would sample.
public enum Rollouts {
    /// `prompts` rendered with an open assistant turn and fitted to `limits` (cut from the left
    /// to `max_prompt_length`; dropped when no response token fits `max_length`). The report
    /// counts what was cut and dropped.
    public static func encode(_ prompts: [RLPrompt], encoder: ChatEncoder, limits: ChatLengthLimits) -> (
        prompts: [EncodedPrompt], report: ChatLengthReport
    ) {
        var filter = ChatLengthFilter(limits: limits)
        let encoded = prompts.compactMap { prompt in
            filter.fit(prompt: encoder.encodePrompt(prompt.messages)).map { EncodedPrompt(prompt: prompt, ids: $0) }
        }
        return (encoded, filter.report)
    }

    /// The prompts of the JSONL file `url` encoded and fitted, with a note saying what the limits
    /// did; an error when none is left.
    static func read(
        _ url: URL, encoder: ChatEncoder, limits: ChatLengthLimits, field: String,
        emit: (TrainingEvent) -> Void
    ) throws -> [EncodedPrompt] {
        let (prompts, report) = encode(try RLPromptDataset.read(url), encoder: encoder, limits: limits)
        emit(.note(report.summary(of: "RL prompts in \(url.lastPathComponent)", limits: limits)))
        guard !prompts.isEmpty else {
            throw ConfigError(
                source: "config", line: nil,
                message: "'\(field)' (\(url.path)) has no prompt that leaves room for a response "
                    + "under max_length \(limits.maxLength ?? 0); raise data.max_length or set data.max_prompt_length")
        }
        return prompts
    }

    /// The seed of the rollout of `step` in a run seeded `base`.
    public static func seed(base: Int, step: Int) -> UInt64 {
        var random = SeededGenerator(seed: UInt64(bitPattern: Int64(base)) &+ UInt64(step) &* 0xD1B5_4A32_D192_ED03)
        return random.next()
    }

    /// The tokens a chat template writes after an end-of-turn token, before the next turn
    /// (ChatML: a newline; Llama 3: none).
    public static func turnSeparator(encoder: ChatEncoder) throws -> [Int] {
        let probe = try encoder.encode([ChatMessage(.user, "Hi"), ChatMessage(.assistant, "Hello")])
        guard let end = probe.ids.lastIndex(of: encoder.endOfTurnID) else { return [] }
        return Array(probe.ids[(end + 1)...])
    }

    /// Samples one response per prompt from `model` in one batch (KV cache, left padding).
    ///
    /// Responses stop at a stop token (kept, and labelled, so the policy learns to end its turn),
    /// after `settings.maxNewTokens` tokens, or where prompt + response would exceed `maxLength`
    /// (0: the model's context) — a response cut there counts as not stopped.
    public static func generate(
        _ model: LanguageModel, encoder: ChatEncoder, prompts: [[Int]], settings: RolloutSettings, seed: UInt64,
        maxLength: Int = 0
    ) throws -> Rollout {
        let started = Date()
        let generations = try Generator(model: model).generate(
            prompts.map { $0.map(Int32.init) },
            options: settings.generationOptions(seed: seed, stopTokens: encoder.stopTokens(for: model.config)))
        return try assemble(
            prompts: prompts, generations: generations, encoder: encoder,
            limit: min(maxLength > 0 ? maxLength : .max, model.config.maxPositions),
            seconds: Date().timeIntervalSince(started))
    }

    /// The rollout of `generations` (one per prompt), each response cut to fit `limit` tokens
    /// with its prompt.
    static func assemble(prompts: [[Int]], generations: [Generation], encoder: ChatEncoder, limit: Int, seconds: Double)
        throws -> Rollout
    {
        let separator = try turnSeparator(encoder: encoder)
        var rollout = Rollout(
            promptIDs: prompts, responseIDs: [], endedWithStop: [], texts: [], examples: [],
            generatedTokens: generations.reduce(0) { $0 + $1.tokens.count }, seconds: seconds)
        for (prompt, generation) in zip(prompts, generations) {
            var response = generation.tokens.map(Int.init)
            var stopped = generation.stopReason == .endOfSequence
            if prompt.count + response.count > limit {
                response = Array(response.prefix(max(limit - prompt.count, 0)))
                stopped = false
            }
            rollout.responseIDs.append(response)
            rollout.endedWithStop.append(stopped)
            rollout.texts.append(encoder.tokenizer.decode(stopped ? Array(response.dropLast()) : response))
            let closing =
                stopped && response.last == encoder.endOfTurnID
                    && prompt.count + response.count + separator.count <= limit ? separator : []
            let ignored = { (count: Int) in [Int](repeating: ChatExample.ignoredLabel, count: count) }
            rollout.examples.append(
                ChatExample(
                    ids: prompt + response + closing, labels: ignored(prompt.count) + response + ignored(closing.count),
                    promptLength: prompt.count))
        }
        return rollout
    }
}
