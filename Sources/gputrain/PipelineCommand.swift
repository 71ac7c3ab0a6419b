import ArgumentParser
import Foundation
import Runtime
import Training

/// `gputrain pipeline`: the whole story, from a random network to a compared set of assistants.
struct PipelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Run data → tokenizer → pretrain → SFT → reward model → DPO and PPO → evaluation → report.",
        discussion: "Each stage writes its own folder in the run directory; report.md and report.json compare the models.")

    static let defaultConfig = "configs/tiny-world.yaml"

    @Option(help: "The YAML recipe (default: \(defaultConfig) when it exists, else the built-in defaults).")
    var config: String?

    @OptionGroup var options: RunOptions

    func run() throws {
        let file = config ?? (FileManager.default.fileExists(atPath: Self.defaultConfig) ? Self.defaultConfig : nil)
        let recipe = try ConfigLoader.load(PipelineConfig.self, from: file.map { URL(fileURLWithPath: $0) }, overrides: options.overrides)
        let directory = try options.runDirectory(fallback: "\(recipe.run.out)/\(recipe.run.name)")
        let chosen = try options.makeDevice(recipe: recipe.device)
        InterruptFlag.install()
        let pipeline = try Pipeline(config: recipe, directory: directory, device: chosen, resume: options.resume,
                                    emit: options.printer.callAsFunction)
        let started = Date()
        guard let report = try pipeline.run() else { throw ExitCode(130) }
        let minutes = Date().timeIntervalSince(started) / 60
        print(String(format: "pipeline finished in %.1f min; report: %@", minutes, report.path))
    }
}
