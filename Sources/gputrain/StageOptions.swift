import ArgumentParser
import Foundation
import Runtime
import Core
import Training

/// The options every training stage takes: the recipe, overrides, the run directory and what
/// to do when it exists, the device, and the output form.
struct StageOptions: ParsableArguments {
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

    /// Loads the recipe, opens the run directory and the device, installs the Ctrl-C handler,
    /// and runs `stage`; a stage that returns nil was interrupted (exit status 130).
    func run<Config: StageConfiguration>(
        _: Config.Type, _ stage: (Config, RunDirectory, Device, @escaping (TrainingEvent) -> Void) throws -> URL?
    ) throws {
        let url = URL(fileURLWithPath: config)
        let recipe = try ConfigLoader.load(Config.self, from: url, overrides: overrides)
        let name = recipe.run.name.isEmpty ? url.deletingPathExtension().lastPathComponent : recipe.run.name
        let directory = try RunDirectory(
            url: URL(fileURLWithPath: out ?? "\(recipe.run.out)/\(name)"),
            existing: resume ? .resume : overwrite ? .overwrite : .refuse)
        let chosen = try DeviceFactory.make(device ?? (recipe.device.isEmpty ? nil : recipe.device))
        InterruptFlag.install()
        if try stage(recipe, directory, chosen, EventPrinter(json: json).callAsFunction) == nil { throw ExitCode(130) }
    }
}
