import ArgumentParser
import Training

/// `gputrain grpo`: online RL with group-relative advantages and programmatic rewards (TRL's GRPO).
struct GRPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpo",
        abstract: "Reinforce a chat model on RL prompts with reward functions, GRPO (see configs/tiny-world-grpo.yaml)."
    )

    @OptionGroup var options: StageOptions

    func run() throws {
        try options.run(GRPOStage.self)
    }
}
