/// Placeholder until formats land.
public enum FormatsPlaceholder {}
