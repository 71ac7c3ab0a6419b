import ArgumentParser
import Training

/// `gputrain pretrain`: stage 1, next-token prediction on raw text.
struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain", abstract: "Pretrain a base model on token shards (see configs/tiny-world-pretrain.yaml).")

    @OptionGroup var options: StageOptions

    func run() throws {
        try options.run(PretrainConfig.self) { try PretrainStage(config: $0, run: $1, device: $2, emit: $3).train() }
    }
}
