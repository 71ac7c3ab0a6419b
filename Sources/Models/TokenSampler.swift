import Core
import Foundation

/// How the next token is chosen from a sequence's logits. The steps run in Hugging Face's
/// order: repetition penalty, then (when sampling) temperature, top-k, top-p and a seeded draw.
public struct SamplingOptions: Sendable, Equatable {
    /// Divides the logits before the softmax; 0 picks the most likely token (greedy).
    public var temperature: Float
    /// Keep only the `topK` most likely tokens (`nil`: all). Ties go to the lower id, so
    /// `topK == 1` is greedy.
    public var topK: Int?
    /// Keep the smallest set of most likely tokens whose probabilities add up to at least
    /// `topP` (1: all).
    public var topP: Float
    /// CTRL's penalty (HF `repetition_penalty`) on tokens already in the sequence, prompt
    /// included: positive logits are divided by it, negative ones multiplied (1: off).
    public var repetitionPenalty: Float
    /// Seed of the draws: the same seed gives the same tokens.
    public var seed: UInt64

    public init(
        temperature: Float = 0, topK: Int? = nil, topP: Float = 1, repetitionPenalty: Float = 1, seed: UInt64 = 0
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.repetitionPenalty = repetitionPenalty
        self.seed = seed
    }

    /// Always the most likely token.
    public static let greedy = SamplingOptions()

    /// True when no draw is made (`topK == 1` draws from one candidate, to the same effect).
    public var isGreedy: Bool { temperature == 0 }

    /// Throws unless every setting is in range.
    public func validate() throws {
        func fail(_ message: String) -> DeviceError { .invalidArgument(operation: "sampling", message: message) }
        guard temperature >= 0, temperature.isFinite else {
            throw fail("temperature \(temperature) must be 0 (greedy) or positive")
        }
        if let topK, topK < 1 { throw fail("top-k \(topK) must be at least 1") }
        guard topP > 0, topP <= 1 else { throw fail("top-p \(topP) must be in (0, 1]") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw fail("repetition penalty \(repetitionPenalty) must be positive")
        }
    }
}

/// Chooses the tokens of one sequence from its successive logits, remembering the tokens
/// seen (for the repetition penalty) and its own random stream (so that a row's draws do not
/// depend on the other rows of a batch).
public struct TokenSampler {
    public let options: SamplingOptions
    private var random: SeededGenerator
    private var seen: Set<Int32>

    /// A sampler for a sequence that starts with `context` (the prompt), drawing from `seed`.
    public init(options: SamplingOptions, seed: UInt64, context: [Int32]) {
        self.options = options
        random = SeededGenerator(seed: seed)
        seen = Set(context)
    }

    /// The next token given its logits over the vocabulary; it then counts as seen.
    public mutating func next(_ logits: ArraySlice<Float>) -> Int32 {
        var scores = Array(logits)
        if options.repetitionPenalty != 1 {
            for id in seen where Int(id) < scores.count {
                let score = scores[Int(id)]
                scores[Int(id)] = score > 0 ? score / options.repetitionPenalty : score * options.repetitionPenalty
            }
        }
        let token = Int32(options.isGreedy ? Self.mostLikely(scores) : draw(scores))
        seen.insert(token)
        return token
    }

    /// The index of the largest score (the first of equals, as `argmax` does).
    static func mostLikely(_ scores: [Float]) -> Int {
        var best = 0
        for (index, score) in scores.enumerated() where score > scores[best] { best = index }
        return best
    }

    /// A draw from softmax(scores / temperature) restricted by top-k and top-p.
    private mutating func draw(_ scores: [Float]) -> Int {
        var candidates = Array(scores.indices)
        if options.topK != nil || options.topP < 1 {
            // Most likely first; equal scores by id, so the result does not depend on the sort.
            candidates.sort { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        }
        if let topK = options.topK, topK < candidates.count { candidates.removeSubrange(topK...) }
        let inverseTemperature = 1 / Double(options.temperature)
        let largest = candidates.lazy.map { Double(scores[$0]) }.max() ?? 0
        var weights = candidates.map { Foundation.exp((Double(scores[$0]) - largest) * inverseTemperature) }
        if options.topP < 1 {
            // Keep each token whose more likely predecessors hold less than top-p of the mass.
            let total = weights.reduce(0, +)
            var before = 0.0
            var kept = 0
            while kept < weights.count, before < Double(options.topP) * total {
                before += weights[kept]
                kept += 1
            }
            candidates.removeSubrange(kept...)
            weights.removeSubrange(kept...)
        }
        var remaining = Double(random.next() >> 11) * 0x1p-53 * weights.reduce(0, +)
        for (candidate, weight) in zip(candidates, weights) {
            remaining -= weight
            if remaining < 0 { return candidate }
        }
        return candidates.last ?? 0
    }
}
