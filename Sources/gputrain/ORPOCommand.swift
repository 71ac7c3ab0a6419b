import ArgumentParser
import Training

/// `gputrain orpo`: ORPO on chosen/rejected pairs, without a reference model: the DPO stage with
/// `loss.type: orpo` (docs/formats.md §6.6).
struct ORPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orpo",
        abstract: "Align a model with preference pairs by ORPO: SFT on the chosen answers plus an odds-ratio term.",
        discussion: "Takes a DPO recipe (see configs/tiny-world-orpo.yaml) and runs it with loss.type orpo and no "
            + "reference model; loss.beta is ORPO's lambda.")

    @OptionGroup var options: StageOptions

    func run() throws {
        try options.run(DPOStage.self, fixed: ["loss.type=orpo", "reference.mode=none"])
    }
}
