import ArgumentParser
import Foundation
import Pipeline
import Runtime
import Training

/// `gputrain pipeline`: the whole story, from a random network to a compared set of assistants.
struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run data → tokenizer → pretrain → SFT → reward model → DPO and PPO → evaluation → report.",
        discussion:
            "Each stage writes its own folder in the run directory; report.md and report.json compare the models.")

    @Option(help: "The YAML recipe: a file, or a built-in recipe's name (default: the built-in tiny-world).")
    var config = "tiny-world"

    @OptionGroup var options: RunOptions

    func run() throws {
        let recipe = try ConfigLoader.load(
            PipelineConfig.self, from: RecipeSource.named(config), overrides: options.overrides)
        let (chosen, selfCheck) = try options.openForTraining(
            recipeDevice: recipe.device, recipeKernels: recipe.kernels)
        let directory = try options.runDirectory(runsFolder: recipe.run.out, name: recipe.run.name)
        try DeviceRecord(device: chosen, selfCheck: selfCheck).write(
            into: directory.url, resuming: options.resume, allowedChanges: directory.allowedChanges)
        let pipeline = try Pipeline(
            config: recipe, directory: directory, device: chosen, resume: options.resume,
            interruption: .onSignals(), emit: options.printer.callAsFunction)
        let started = Date()
        guard let report = try pipeline.run() else { throw ExitCode(130) }
        let minutes = Date().timeIntervalSince(started) / 60
        print(String(format: "pipeline finished in %.1f min; report: %@", minutes, report.path))
    }
}
