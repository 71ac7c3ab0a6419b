/// Placeholder until the tensor module lands.
public enum TensorsPlaceholder {}
