import ArgumentParser
import Training

/// `gputrain sft`: stage 2, supervised fine-tuning on chats (loss on the assistant turns).
struct SFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft", abstract: "Fine-tune a model on chat conversations (see configs/tiny-world-sft.yaml).")

    @OptionGroup var options: StageOptions

    func run() throws {
        try options.run(SFTStage.self)
    }
}
