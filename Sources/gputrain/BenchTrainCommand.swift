import ArgumentParser
import Benchmarking
import Core
import Foundation
import Runtime
import Training

/// `gputrain bench train`: times whole training steps of a preset or a recipe's model.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time full training steps (forward, backward, clipping, AdamW; float32, random weights and tokens): "
            + "ms/step, tokens/s, model FLOPs utilisation and peak memory.")

    @Option(help: "A preset: \(TrainBenchmarkShape.presetNames.joined(separator: ", ")).")
    var preset: String?

    @Option(help: "A pretraining recipe (YAML) whose model and batch shape to time instead.")
    var config: String?

    @Option(help: "Timed steps after 3 warm-up steps (the median is reported).")
    var steps = 10

    @Flag(help: "End standard output with one JSON object (progress goes to stderr).")
    var json = false

    @Flag(help: "Print a per-kernel time table to stderr after the timed steps (profiling slows steps a little).")
    var profile = false

    @Option(
        name: .customLong("peak-gflops"), help: "The peak to compute MFU against, instead of timing a 2048³ matmul.")
    var peakGFLOPS: Double?

    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        guard (preset == nil) != (config == nil) else {
            throw ValidationError("give exactly one of --preset and --config")
        }
        if let preset, TrainBenchmarkShape.preset(preset) == nil {
            throw ValidationError(
                "unknown preset '\(preset)'; one of \(TrainBenchmarkShape.presetNames.joined(separator: ", "))")
        }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        if let peakGFLOPS, !(peakGFLOPS > 0) { throw ValidationError("--peak-gflops must be positive") }
    }

    func run() throws {
        let shape: TrainBenchmarkShape
        if let config {
            let source = try RecipeSource.named(config)
            let recipe = try ConfigLoader.load(PretrainConfig.self, from: source)
            let name = recipe.run.name.isEmpty ? source.stem : recipe.run.name
            shape = try TrainBenchmarkShape(name: name, recipe: recipe)
        } else {
            shape = TrainBenchmarkShape.preset(preset ?? "")!
        }
        let target = try deviceOptions.open(profiling: profile)
        let standardError = FileHandle.standardError
        let log: (String) -> Void = { standardError.write(Data(($0 + "\n").utf8)) }
        var benchmark = TrainBenchmark(device: target, shape: shape, steps: steps, log: log)
        benchmark.peakGFLOPS = peakGFLOPS
        benchmark.profile = profile
        let result = try benchmark.run()
        if let table = result.profileTable { log(table) }
        print(json ? result.jsonLine : result.text)
    }
}
