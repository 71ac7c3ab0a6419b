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

/// The figures of one optimizer step, as written to `metrics.jsonl`.
public struct StepMetrics: Codable, Equatable, Sendable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Double
    public var learningRate: Double
    public var gradientNorm: Double
    public var tokensPerSecond: Double
    /// Validation loss, on the steps where it was evaluated.
    public var validationLoss: Double?
    /// Seconds left at the current pace.
    public var secondsRemaining: Double

    enum CodingKeys: String, CodingKey {
        case step, loss
        case learningRate = "lr", gradientNorm = "grad_norm", tokensPerSecond = "tokens_per_s"
        case validationLoss = "val_loss", totalSteps = "total_steps", secondsRemaining = "eta_s"
    }
}
