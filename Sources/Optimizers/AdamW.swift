import Tensors
/// Placeholder until optimizers land.
public enum OptimizersPlaceholder {}
