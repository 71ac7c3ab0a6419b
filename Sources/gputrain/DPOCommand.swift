import ArgumentParser
import Training

/// `gputrain dpo`: stage 3, preference optimization (DPO and its variants, or SimPO) on
/// chosen/rejected pairs, starting from the SFT model.
struct DPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dpo",
        abstract: "Align a model with preference pairs by DPO or SimPO (see configs/tiny-world-dpo.yaml).")

    @OptionGroup var options: StageOptions

    func run() throws {
        try options.run(DPOStage.self)
    }
}
