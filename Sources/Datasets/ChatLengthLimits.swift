/// Length limits for post-training data (TRL's `max_length` and `max_prompt_length`). Prompts are
/// cut from the left to `maxPromptLength`; an example still longer than `maxLength` is dropped and
/// counted, never cut inside its answer.
public struct ChatLengthLimits: Codable, Equatable, Sendable {
    /// Most tokens of a whole example (prompt + completion); `nil` for no limit.
    public var maxLength: Int?
    /// Most prompt tokens; longer prompts lose their oldest tokens. `nil` for no limit.
    public var maxPromptLength: Int?

    public init(maxLength: Int? = nil, maxPromptLength: Int? = nil) {
        self.maxLength = maxLength
        self.maxPromptLength = maxPromptLength
    }
}

/// What `ChatLengthFilter` did, for the run's summary.
public struct ChatLengthReport: Codable, Equatable, Sendable {
    /// Examples (or pairs, or prompts) offered.
    public var seen = 0
    /// Kept, possibly with a shortened prompt.
    public var kept = 0
    /// Kept after cutting the prompt from the left.
    public var promptsTruncated = 0
    /// Dropped because they did not fit `maxLength` even with the prompt cut.
    public var dropped = 0

    public init() {}
}

/// Applies `ChatLengthLimits` and counts what happened.
public struct ChatLengthFilter: Sendable {
    public let limits: ChatLengthLimits
    public private(set) var report = ChatLengthReport()

    public init(limits: ChatLengthLimits) { self.limits = limits }

    /// `example` fitted to the limits, or `nil` when it is dropped.
    public mutating func fit(_ example: ChatExample) -> ChatExample? {
        fit([example])?.first
    }

    /// A preference pair fitted: both sides lose the same prompt tokens; the pair is dropped when
    /// either side does not fit.
    public mutating func fit(_ pair: (chosen: ChatExample, rejected: ChatExample)) -> (
        chosen: ChatExample, rejected: ChatExample
    )? {
        guard let fitted = fit([pair.chosen, pair.rejected]) else { return nil }
        return (fitted[0], fitted[1])
    }

    /// Prompt ids for generation fitted: cut from the left to `maxPromptLength`; dropped when no
    /// room is left under `maxLength` for a single generated token.
    public mutating func fit(prompt: [Int]) -> [Int]? {
        fit(
            [
                ChatExample(
                    ids: prompt, labels: prompt.map { _ in ChatExample.ignoredLabel }, promptLength: prompt.count)
            ],
            reserving: 1)?.first?.ids
    }

    private mutating func fit(_ examples: [ChatExample], reserving reserve: Int = 0) -> [ChatExample]? {
        report.seen += 1
        let promptLength = examples.map(\.promptLength).min() ?? 0
        let cut = limits.maxPromptLength.map { max(promptLength - $0, 0) } ?? 0
        let fitted = examples.map { $0.droppingPrompt(cut) }
        if let maxLength = limits.maxLength, fitted.contains(where: { $0.ids.count + reserve > maxLength }) {
            report.dropped += 1
            return nil
        }
        report.kept += 1
        if cut > 0 { report.promptsTruncated += 1 }
        return fitted
    }
}
