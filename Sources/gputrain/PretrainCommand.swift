import ArgumentParser
import Foundation
import Runtime
import Training

/// `gputrain pretrain`: stage 1, next-token prediction on raw text.
struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain", abstract: "Pretrain a base model on token shards (see configs/tiny-world-pretrain.yaml).")

    @Option(help: "The YAML recipe.")
    var config: String

    @Option(name: .customLong("set"), help: "Override a config key: --set train.steps=100 (repeatable).")
    var overrides: [String] = []

    @Option(help: "Run directory (default: <run.out>/<run.name or the config file's stem>).")
    var out: String?

    @Flag(help: "Continue the run in the run directory from its latest checkpoint.")
    var resume = false

    @Flag(help: "Delete an existing run directory and start again.")
    var overwrite = false

    @Option(help: "Device index or name (`gputrain devices`), or `reference`.")
    var device: String?

    @Flag(help: "Print events as JSON lines on standard output.")
    var json = false

    func run() throws {
        let url = URL(fileURLWithPath: config)
        let recipe = try ConfigLoader.load(PretrainConfig.self, from: url, overrides: overrides)
        let name = recipe.run.name.isEmpty ? url.deletingPathExtension().lastPathComponent : recipe.run.name
        let directory = try RunDirectory(
            url: URL(fileURLWithPath: out ?? "\(recipe.run.out)/\(name)"),
            existing: resume ? .resume : overwrite ? .overwrite : .refuse)
        let chosen = try DeviceFactory.make(device ?? (recipe.device.isEmpty ? nil : recipe.device))
        InterruptFlag.install()
        let stage = PretrainStage(config: recipe, run: directory, device: chosen, emit: EventPrinter(json: json).callAsFunction)
        if try stage.train() == nil { throw ExitCode(130) }
    }
}
