/// gputrain's version: `gputrain --version`, and part of what a remembered self-check or tuning
/// is keyed by.
public enum GPUTrainVersion {
    public static let current = "0.16.0"
}
