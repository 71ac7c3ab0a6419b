import Foundation

/// The learning-rate multiplier per optimizer step, as the Hugging Face schedulers compute
/// it (docs/formats.md §6.9, `transformers.get_*_schedule_with_warmup`).
///
/// `step` counts optimizer steps already taken: the first update uses step 0, as a PyTorch
/// `LambdaLR` stepped once after each `optimizer.step()` does. So with warmup the first update
/// has learning rate 0, exactly like transformers.
public enum LearningRateSchedule: Equatable, Sendable, Codable {
    /// Always 1.
    case constant
    /// Linear warmup from 0 over `warmupSteps`, then 1.
    case constantWithWarmup(warmupSteps: Int)
    /// Linear warmup, then linear decay to 0 at `totalSteps` (the Trainer's default).
    case linear(warmupSteps: Int, totalSteps: Int)
    /// Linear warmup, then cosine decay: 0.5·(1 + cos(π·2·cycles·p)) over the progress p
    /// after warmup (cycles 0.5 decays to 0 at `totalSteps`), never below 0.
    case cosine(warmupSteps: Int, totalSteps: Int, cycles: Double = 0.5)

    /// The multiplier of the base learning rate at `step` (0-based).
    public func multiplier(atStep step: Int) -> Float {
        func warmup(_ steps: Int) -> Double? {
            step < steps ? Double(step) / Double(max(1, steps)) : nil
        }
        switch self {
        case .constant:
            return 1
        case .constantWithWarmup(let warmupSteps):
            return Float(warmup(warmupSteps) ?? 1)
        case .linear(let warmupSteps, let totalSteps):
            if let rising = warmup(warmupSteps) { return Float(rising) }
            return Float(max(0, Double(totalSteps - step) / Double(max(1, totalSteps - warmupSteps))))
        case .cosine(let warmupSteps, let totalSteps, let cycles):
            if let rising = warmup(warmupSteps) { return Float(rising) }
            let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
            return Float(max(0, 0.5 * (1 + Foundation.cos(Double.pi * 2 * cycles * progress))))
        }
    }

    /// base·multiplier at `step`.
    public func learningRate(base: Float, atStep step: Int) -> Float {
        base * multiplier(atStep: step)
    }
}
