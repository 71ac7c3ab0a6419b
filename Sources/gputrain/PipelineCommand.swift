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

    @Option(name: .customLong("set"), help: "Override a config key: --set sft.train.steps=100 (repeatable).")
    var overrides: [String] = []

    @Option(help: "Run directory (default: <run.out>/<run.name>).")
    var out: String?

    @Flag(help: "Skip the stages that finished and continue the interrupted one.")
    var resume = false

    @Flag(help: "Delete an existing run directory and start again.")
    var overwrite = false

    @Option(help: "Device index or name (`gputrain devices`), or `reference`.")
    var device: String?

    @Flag(help: "Print events as JSON lines on standard output.")
    var json = false

    func run() throws {
        let file = config ?? (FileManager.default.fileExists(atPath: Self.defaultConfig) ? Self.defaultConfig : nil)
        let recipe = try ConfigLoader.load(PipelineConfig.self, from: file.map { URL(fileURLWithPath: $0) }, overrides: overrides)
        let directory = try RunDirectory(url: URL(fileURLWithPath: out ?? "\(recipe.run.out)/\(recipe.run.name)"),
                                         existing: resume ? .resume : overwrite ? .overwrite : .refuse)
        let chosen = try DeviceFactory.make(device ?? (recipe.device.isEmpty ? nil : recipe.device))
        InterruptFlag.install()
        let pipeline = try Pipeline(config: recipe, root: directory.url, device: chosen, resume: resume,
                                    emit: EventPrinter(json: json).callAsFunction)
        let started = Date()
        guard let report = try pipeline.run() else { throw ExitCode(130) }
        let minutes = Date().timeIntervalSince(started) / 60
        print(String(format: "pipeline finished in %.1f min; report: %@", minutes, report.path))
    }
}
