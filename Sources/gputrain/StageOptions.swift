import ArgumentParser
import Core
import Foundation
import Runtime
import Training

/// The options of everything that writes a run directory: overrides, where the run goes and
/// what to do when it exists, the device, and the output form.
struct RunOptions: ParsableArguments {
    @Option(name: .customLong("set"), help: "Override a config key: --set train.steps=100 (repeatable).")
    var overrides: [String] = []

    @Option(help: "Run directory (default: <run.out>/<run.name or the config file's stem>).")
    var out: String?

    @Flag(help: "Continue the run in the run directory from its latest checkpoint (pipeline: skip finished stages).")
    var resume = false

    @Flag(help: "Delete an existing run directory (one gputrain made) and start again.")
    var overwrite = false

    @Option(
        name: .customLong("allow-changed"),
        help: "With --resume: accept a changed seed, global batch, sequence length, data.* or optim.* key (repeatable)."
    )
    var allowChanged: [String] = []

    @OptionGroup var deviceOptions: DeviceOptions

    @Flag(help: "Train without first checking the device's kernels against the reference device (at your own risk).")
    var skipSelfCheck = false

    @Flag(help: "Print events as JSON lines on standard output.")
    var json = false

    /// Opens the run directory `out`, or `<runsFolder>/<name>` when no `--out` is given; runs
    /// in `runsFolder` share its `.cache`.
    func runDirectory(runsFolder: String, name: String) throws -> RunDirectory {
        let url = out.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: runsFolder).appendingPathComponent(name)
        var directory = try RunDirectory(url: url, existing: resume ? .resume : overwrite ? .overwrite : .refuse)
        directory.allowedChanges = Set(allowChanged)
        if out == nil { directory.cacheFolder = URL(fileURLWithPath: runsFolder).appendingPathComponent(".cache") }
        return directory
    }

    /// Where events go.
    var printer: EventPrinter { EventPrinter(json: json) }

    /// Opens the device for training: `deviceOptions`' choice (else the recipe's), refused unless
    /// its kernels pass the self-check (`SelfCheck.requireForTraining`); the check's line is
    /// printed and returned, for the run's `device.json`.
    func openForTraining(recipeDevice: String, recipeKernels: String) throws -> (device: Device, selfCheck: String) {
        let device = try deviceOptions.open(recipeDevice: recipeDevice, recipeKernels: recipeKernels)
        let note = try SelfCheck.requireForTraining(device, skip: skipSelfCheck)
        printer(.note(note))
        return (device, note)
    }
}

/// The options every training stage takes: the recipe and the run options.
struct StageOptions: ParsableArguments {
    @Option(help: "The YAML recipe: a file, or a built-in recipe's name (gputrain recipes).")
    var config: String

    @OptionGroup var run: RunOptions

    /// Loads the recipe, opens the device and the run directory, connects Ctrl-C to the run's
    /// interruption, and trains a `Stage`; an interrupted stage exits with status 130. `fixed`
    /// overrides (`key=value`) are applied after the user's: what the command itself means.
    func run<Stage: RunnableStage>(_: Stage.Type, fixed: [String] = []) throws {
        let source = try RecipeSource.named(config)
        let recipe = try ConfigLoader.load(Stage.Config.self, from: source, overrides: run.overrides + fixed)
        let name = recipe.run.name.isEmpty ? source.stem : recipe.run.name
        let (device, selfCheck) = try run.openForTraining(recipeDevice: recipe.device, recipeKernels: recipe.kernels)
        let directory = try run.runDirectory(runsFolder: recipe.run.out, name: name)
        try DeviceRecord(device: device, selfCheck: selfCheck).write(
            into: directory.url, resuming: run.resume, allowedChanges: directory.allowedChanges)
        let stage = Stage(
            config: recipe, run: directory, device: device, interruption: .onSignals(), emit: run.printer.callAsFunction
        )
        if try stage.train() == nil { throw ExitCode(130) }
    }
}
