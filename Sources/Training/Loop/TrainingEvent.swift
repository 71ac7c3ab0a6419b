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

    public init(from decoder: Decoder) throws {
        let fixed = try decoder.container(keyedBy: CodingKeys.self)
        step = try fixed.decode(Int.self, forKey: .step)
        totalSteps = try fixed.decode(Int.self, forKey: .totalSteps)
        loss = try fixed.decode(Double.self, forKey: .loss)
        learningRate = try fixed.decode(Double.self, forKey: .learningRate)
        gradientNorm = try fixed.decode(Double.self, forKey: .gradientNorm)
        tokensPerSecond = try fixed.decode(Double.self, forKey: .tokensPerSecond)
        validationLoss = try fixed.decodeIfPresent(Double.self, forKey: .validationLoss)
        secondsRemaining = try fixed.decode(Double.self, forKey: .secondsRemaining)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        let all = try decoder.container(keyedBy: FlatKey.self)
        for key in all.allKeys where !known.contains(key.stringValue) {
            extra[key.stringValue] = try all.decode(Double.self, forKey: key)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var fixed = encoder.container(keyedBy: CodingKeys.self)
        try fixed.encode(step, forKey: .step)
        try fixed.encode(totalSteps, forKey: .totalSteps)
        try fixed.encode(loss, forKey: .loss)
        try fixed.encode(learningRate, forKey: .learningRate)
        try fixed.encode(gradientNorm, forKey: .gradientNorm)
        try fixed.encode(tokensPerSecond, forKey: .tokensPerSecond)
        try fixed.encodeIfPresent(validationLoss, forKey: .validationLoss)
        try fixed.encode(secondsRemaining, forKey: .secondsRemaining)
        var all = encoder.container(keyedBy: FlatKey.self)
        for (key, value) in extra { try all.encode(value, forKey: FlatKey(stringValue: key)) }
    }
}
