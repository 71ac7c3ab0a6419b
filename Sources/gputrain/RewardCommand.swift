import ArgumentParser
import Training

/// `gputrain reward`: stage 3, a reward model trained on preference pairs (Bradley–Terry).
struct RewardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reward",
        abstract: "Train a reward model on preference pairs (see configs/tiny-world-reward.yaml).",
        discussion:
            "Writes <run>/final (a *ForSequenceClassification model with one label) and <run>/reward_report.json "
            + "(held-out accuracy overall and per rejected_kind). Score chats with it using `gputrain score`.")

    @OptionGroup var options: StageOptions

    func run() throws {
        try options.run(RewardStage.self)
    }
}
