import ArgumentParser
import Training

/// `gputrain kto`: KTO on unpaired completions labelled desirable or undesirable: the DPO stage
/// with `loss.type: kto` (docs/formats.md §6.5).
struct KTOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kto",
        abstract: "Align a model with completions labelled desirable or undesirable, by KTO.",
        discussion: "Takes a DPO recipe (see configs/tiny-world-kto.yaml) whose data.path holds "
            + "{\"prompt\", \"completion\", \"label\"} lines, and runs it with loss.type kto.")

    @OptionGroup var options: StageOptions

    func run() throws {
        try options.run(DPOStage.self, fixed: ["loss.type=kto"])
    }
}
