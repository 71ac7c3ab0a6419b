import Core
import Tensors

/// Why a sequence stopped growing.
public enum StopReason: String, Sendable, Equatable {
    /// It produced one of the stop tokens (the token is kept, as Hugging Face does).
    case endOfSequence
    /// It got `maxNewTokens` new tokens.
    case maxTokens
    /// Prompt and new tokens fill the model's context (`max_position_embeddings`).
    case contextLength
}

/// The continuation of one prompt.
public struct Generation: Sendable, Equatable {
    /// The new tokens, ending with the stop token when `stopReason` is `.endOfSequence`.
    public var tokens: [Int32]
    public var stopReason: StopReason

    public init(tokens: [Int32], stopReason: StopReason) {
        self.tokens = tokens
        self.stopReason = stopReason
    }
}

/// What to generate: how many tokens at most, where to stop, and how to choose tokens.
public struct GenerationOptions: Sendable, Equatable {
    /// New tokens per prompt at most.
    public var maxNewTokens: Int
    /// Tokens that end a sequence (a model's `eos_token_id`s, typically).
    public var stopTokens: Set<Int32>
    public var sampling: SamplingOptions

    public init(maxNewTokens: Int, stopTokens: Set<Int32> = [], sampling: SamplingOptions = .greedy) {
        self.maxNewTokens = maxNewTokens
        self.stopTokens = stopTokens
        self.sampling = sampling
    }
}

/// Continues prompts with a causal language model, several at once, reading each prompt once
/// and then one token per step through a `KeyValueCache`.
///
/// Prompts of different lengths are left-padded to a common width (as Hugging Face does for
/// decoder-only models): padding keys are masked out and positions count only real tokens,
/// so each row gets what it would alone. Tokens are chosen on the host from the downloaded
/// last-position logits by one `TokenSampler` per row, whose seed derives from the options'
/// seed and the row, so the first row of a batch draws as a lone prompt with the same seed;
/// a caller that needs a row's draws not to depend on its place in the batch gives each row
/// its own seed.
public struct Generator {
    public let model: LanguageModel

    public init(model: LanguageModel) { self.model = model }

    /// The continuation of each of `prompts` (non-empty, at most the context length, ids in the
    /// vocabulary). `seeds`, when given, holds each row's sampling seed (one per prompt), in
    /// place of the seeds derived from `options.sampling.seed` and the row number.
    /// `onToken(row, token)` sees every new token as soon as it is chosen.
    public func generate(
        _ prompts: [[Int32]], options: GenerationOptions, seeds: [UInt64]? = nil,
        onToken: ((_ row: Int, _ token: Int32) throws -> Void)? = nil
    ) throws -> [Generation] {
        try validate(prompts, options)
        if let seeds, seeds.count != prompts.count {
            throw DeviceError.invalidArgument(
                operation: "generate", message: "\(seeds.count) seeds for \(prompts.count) prompts")
        }
        var derived = SeededGenerator(seed: options.sampling.seed)
        let rowSeeds = seeds ?? prompts.map { _ in derived.next() }
        var rows = zip(prompts, rowSeeds).map { prompt, seed in
            GeneratedRow(
                prompt: prompt, limit: min(options.maxNewTokens, model.config.contextLength - prompt.count),
                sampler: TokenSampler(options: options.sampling, seed: seed, context: prompt))
        }
        let width = prompts.map(\.count).max() ?? 0
        let steps = rows.map(\.limit).max() ?? 0
        guard steps > 0 else { return rows.map { $0.result(options) } }
        // Sampling never uses dropout, also inside a training step (PPO's and GRPO's rollouts).
        let adapterDropout = model.adapters?.dropoutSeed
        model.adapters?.dropoutSeed = nil
        defer { model.adapters?.dropoutSeed = adapterDropout }
        return try Tensor.withNoGrad {
            // The last token chosen is never read, hence steps − 1.
            let cache = try KeyValueCache(
                config: model.config, device: model.parameters.device, batch: rows.count, capacity: width + steps - 1)
            var keyValid = rows.map { $0.leftPadded([Int32](repeating: 1, count: $0.prompt.count), to: width) }
            var logits = try lastLogits(
                ids: rows.flatMap { $0.leftPadded($0.prompt, to: width) },
                positions: rows.flatMap { $0.leftPadded(Array(0..<Int32($0.prompt.count)), to: width) },
                keyValid: keyValid, length: width, cache: cache)
            let vocabulary = logits.count / rows.count
            while true {
                for row in rows.indices where !rows[row].isFinished {
                    let token = rows[row].choose(
                        from: logits[(row * vocabulary)..<((row + 1) * vocabulary)], options: options)
                    try onToken?(row, token)
                }
                if rows.allSatisfy(\.isFinished) { break }
                // Finished rows still take part (the batch keeps its shape) with a masked token.
                for row in rows.indices { keyValid[row].append(rows[row].isFinished ? 0 : 1) }
                logits = try lastLogits(
                    ids: rows.map(\.lastToken), positions: rows.map(\.nextPosition),
                    keyValid: keyValid, length: 1, cache: cache)
            }
            return rows.map { $0.result(options) }
        }
    }

    /// The continuation of one prompt.
    public func generate(
        _ prompt: [Int32], options: GenerationOptions, onToken: ((_ token: Int32) throws -> Void)? = nil
    ) throws -> Generation {
        try generate(
            [prompt], options: options, onToken: onToken.map { callback in { _, token in try callback(token) } })[0]
    }

    private func validate(_ prompts: [[Int32]], _ options: GenerationOptions) throws {
        try options.sampling.validate()
        let config = model.config
        func fail(_ message: String) -> DeviceError { .invalidArgument(operation: "generate", message: message) }
        guard options.maxNewTokens >= 0 else { throw fail("max new tokens \(options.maxNewTokens) is negative") }
        guard !prompts.isEmpty else { throw fail("no prompts") }
        for (row, prompt) in prompts.enumerated() {
            guard !prompt.isEmpty else { throw fail("prompt \(row) is empty") }
            guard prompt.count <= config.contextLength else {
                throw fail("prompt \(row) has \(prompt.count) tokens; the context holds \(config.contextLength)")
            }
            if let bad = prompt.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
                throw fail("prompt \(row) has token \(bad) outside the vocabulary of \(config.vocabSize)")
            }
        }
    }

    /// Runs the model on `length` new tokens per row and returns the logits of each row's last
    /// one, [batch·vocab] on the host.
    private func lastLogits(ids: [Int32], positions: [Int32], keyValid: [[Int32]], length: Int, cache: KeyValueCache)
        throws -> [Float]
    {
        let device = model.parameters.device
        let batch = keyValid.count
        // Without padding (one prompt, or prompts of one length) no mask is needed.
        let masks =
            keyValid.allSatisfy { !$0.contains(0) }
            ? AttentionMasks.none
            : AttentionMasks.tensors(
                keyValid: try IntTensor(
                    device: device, shape: [batch, keyValid[0].count], values: keyValid.flatMap { $0 },
                    label: "key valid"))
        let tokens = TokenBatch(
            ids: try IntTensor(device: device, shape: [batch * length], values: ids, label: "generation ids"),
            batch: batch, length: length,
            positions: try IntTensor(
                device: device, shape: [batch * length], values: positions, label: "generation positions"), masks: masks
        )
        var hidden = try model.hiddenStates(tokens, dropout: nil, cache: cache)
        if length > 1 {
            hidden = try hidden.reshaped([batch, length, -1]).slice(axis: 1, (length - 1)..<length).reshaped([
                batch, -1,
            ])
        }
        return try model.logits(fromHidden: hidden).values()
    }
}

/// One prompt's progress through generation.
private struct GeneratedRow {
    let prompt: [Int32]
    /// New tokens allowed: the requested number, or fewer when the context fills first.
    let limit: Int
    var sampler: TokenSampler
    var tokens: [Int32] = []
    var stoppedAtEndOfSequence = false

    init(prompt: [Int32], limit: Int, sampler: TokenSampler) {
        self.prompt = prompt
        self.limit = limit
        self.sampler = sampler
    }

    var isFinished: Bool { stoppedAtEndOfSequence || tokens.count >= limit }
    var lastToken: Int32 { tokens.last ?? prompt[prompt.count - 1] }
    /// Where the last token sits, counting real tokens only (0 for a finished row, whose
    /// position must stay inside GPT-2's position table).
    var nextPosition: Int32 { isFinished ? 0 : Int32(prompt.count + tokens.count - 1) }

    /// Per-prompt-token `values` after zeros up to `width` (padding is token 0 at position 0,
    /// masked out).
    func leftPadded(_ values: [Int32], to width: Int) -> [Int32] {
        [Int32](repeating: 0, count: width - prompt.count) + values
    }

    /// Chooses, records and returns the next token.
    mutating func choose(from logits: ArraySlice<Float>, options: GenerationOptions) -> Int32 {
        let token = sampler.next(logits)
        tokens.append(token)
        stoppedAtEndOfSequence = options.stopTokens.contains(token)
        return token
    }

    func result(_ options: GenerationOptions) -> Generation {
        let reason: StopReason =
            stoppedAtEndOfSequence ? .endOfSequence : tokens.count >= options.maxNewTokens ? .maxTokens : .contextLength
        return Generation(tokens: tokens, stopReason: reason)
    }
}
