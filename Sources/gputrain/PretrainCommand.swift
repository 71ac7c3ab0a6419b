import ArgumentParser
import Training

/// `gputrain pretrain`: stage 1, next-token prediction on raw text.
struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pretrain a base model on token shards (see configs/tiny-world-pretrain.yaml).")

    @OptionGroup var options: StageOptions

    func run() throws {
        try options.run(PretrainStage.self)
    }
}
