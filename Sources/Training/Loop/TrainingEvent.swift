/// What a training stage reports while it runs. Stages emit events; the CLI renders them as
/// text or JSON, and tests assert on them rather than on printed text.
public enum TrainingEvent: Sendable {
    /// The run directory and what will run, before the first step.
    case started(runDirectory: String, device: String, parameters: Int, deviceBytes: Int, resumedAtStep: Int?)
    /// One optimizer step finished.
    case step(StepMetrics)
    /// A checkpoint was written.
    case checkpoint(step: Int, path: String)
    /// Anything else worth a line (the bigram baseline, the knowledge probe, an interruption).
    case note(String)
    /// The stage finished; `finalModel` is the Hugging Face folder it wrote.
    case finished(step: Int, finalModel: String)
}

/// The figures of one optimizer step, as written to `metrics.jsonl`: the common ones, and the
/// stage's own (`extra`, e.g. `rewards/margins` for DPO, `kl` for PPO) as further keys of the
/// same flat object.
public struct StepMetrics: Codable, Equatable, Sendable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Double
    public var learningRate: Double
    public var gradientNorm: Double
    /// The tokens the step's forward passes processed over the seconds of its training work;
    /// evaluation and checkpointing are left out, in every stage alike.
    public var tokensPerSecond: Double
    /// Validation loss, on the steps where it was evaluated.
    public var validationLoss: Double?
    /// Seconds left at the current pace: the steps left times a moving average of the whole
    /// step's time, evaluation included (what the user waits for).
    public var secondsRemaining: Double
    /// The stage's own figures, by the names its users know them (TRL's, where it has them).
    public var extra: [String: Double] = [:]

    public init(
        step: Int, totalSteps: Int, loss: Double, learningRate: Double, gradientNorm: Double, tokensPerSecond: Double,
        validationLoss: Double? = nil, secondsRemaining: Double, extra: [String: Double] = [:]
    ) {
        self.step = step
        self.totalSteps = totalSteps
        self.loss = loss
        self.learningRate = learningRate
        self.gradientNorm = gradientNorm
        self.tokensPerSecond = tokensPerSecond
        self.validationLoss = validationLoss
        self.secondsRemaining = secondsRemaining
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case step, loss
        case learningRate = "lr"
        case gradientNorm = "grad_norm"
        case tokensPerSecond = "tokens_per_s"
        case validationLoss = "val_loss"
        case totalSteps = "total_steps"
        case secondsRemaining = "eta_s"
    }

    /// Any key of the flat object.
    private struct FlatKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Reads a line `encode` wrote; a null figure reads as NaN.
    public init(from decoder: Decoder) throws {
        let fixed = try decoder.container(keyedBy: CodingKeys.self)
        func number(_ key: CodingKeys) throws -> Double {
            try fixed.decodeIfPresent(Double.self, forKey: key) ?? .nan
        }
        step = try fixed.decode(Int.self, forKey: .step)
        totalSteps = try fixed.decode(Int.self, forKey: .totalSteps)
        loss = try number(.loss)
        learningRate = try number(.learningRate)
        gradientNorm = try number(.gradientNorm)
        tokensPerSecond = try number(.tokensPerSecond)
        validationLoss = fixed.contains(.validationLoss) ? try number(.validationLoss) : nil
        secondsRemaining = try number(.secondsRemaining)
        let known = Set(CodingKeys.allCases.map(\.rawValue) + [Self.nonFiniteKey])
        let all = try decoder.container(keyedBy: FlatKey.self)
        for key in all.allKeys where !known.contains(key.stringValue) {
            extra[key.stringValue] = try all.decodeIfPresent(Double.self, forKey: key) ?? .nan
        }
    }

    /// One flat JSON object. JSON has no NaN or infinity: a non-finite figure is written as
    /// `null` and its key listed in `"nonfinite"`, so a diverging run's line is still valid JSON.
    public func encode(to encoder: Encoder) throws {
        var all = encoder.container(keyedBy: FlatKey.self)
        var nonFinite: [String] = []
        func number(_ value: Double, _ key: String) throws {
            if value.isFinite {
                try all.encode(value, forKey: FlatKey(stringValue: key))
            } else {
                try all.encodeNil(forKey: FlatKey(stringValue: key))
                nonFinite.append(key)
            }
        }
        try all.encode(step, forKey: FlatKey(stringValue: CodingKeys.step.rawValue))
        try all.encode(totalSteps, forKey: FlatKey(stringValue: CodingKeys.totalSteps.rawValue))
        try number(loss, CodingKeys.loss.rawValue)
        try number(learningRate, CodingKeys.learningRate.rawValue)
        try number(gradientNorm, CodingKeys.gradientNorm.rawValue)
        try number(tokensPerSecond, CodingKeys.tokensPerSecond.rawValue)
        if let validationLoss { try number(validationLoss, CodingKeys.validationLoss.rawValue) }
        try number(secondsRemaining, CodingKeys.secondsRemaining.rawValue)
        for (key, value) in extra.sorted(by: { $0.key < $1.key }) { try number(value, key) }
        if !nonFinite.isEmpty { try all.encode(nonFinite, forKey: FlatKey(stringValue: Self.nonFiniteKey)) }
    }

    /// The key listing a line's non-finite figures (written as null).
    public static let nonFiniteKey = "nonfinite"
}
