import ArgumentParser
import Training

/// `gputrain ppo`: stage 4a, PPO against a reward model (policy and value model trained together).
struct PPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppo",
        abstract: "Train a chat model with PPO against a reward model (see configs/tiny-world-ppo.yaml).")

    @OptionGroup var options: StageOptions

    func run() throws {
        try options.run(PPOStage.self)
    }
}
