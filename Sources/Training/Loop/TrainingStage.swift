import Core
import Datasets
import Formats
import Foundation
import Inference
import Models
import Tensors

/// What every training stage holds: its recipe, its run directory, the device it trains on,
/// where its progress events go and the interruption its loop answers. Each stage subclasses it
/// and adds `train() -> URL?` (the final model folder, or nil when interrupted after
/// checkpointing).
public class TrainingStage<Config: TrainingConfiguration> {
    public let config: Config
    public let run: RunDirectory
    public let device: Device
    /// Requested to stop the run cleanly (the CLI connects it to Ctrl-C).
    public let interruption: Interruption
    let emit: (TrainingEvent) -> Void

    /// Prepares a run of `config` in `run` on `device`; `emit` receives progress events.
    public required init(
        config: Config, run: RunDirectory, device: Device, interruption: Interruption = Interruption(),
        emit: @escaping (TrainingEvent) -> Void
    ) {
        self.config = config
        self.run = run
        self.device = device
        self.interruption = interruption
        self.emit = emit
    }

    /// The loop that trains `models`, each with its own AdamW from the recipe's `optim`; the
    /// resolved recipe is kept as the run's `config.yaml`.
    func makeLoop(training models: [TrainedModel]) throws -> StageLoop {
        let trainees = try models.map {
            Trainee(name: $0.name, store: $0.parameters, optimizer: try config.optim.makeOptimizer(for: $0.parameters))
        }
        try run.checkResume(config)
        try run.writeConfig(config)
        let loop = StageLoop(
            run: run, trainees: trainees, settings: config.train, optim: config.optim,
            interruption: interruption, emit: emit)
        loop.adapters = models.compactMap(\.adapters)
        return loop
    }
}

/// A training stage's recipe: its loop and its optimizer, beside where it runs.
public protocol TrainingConfiguration: StageConfiguration {
    associatedtype Train: LoopSchedule
    var train: Train { get }
    var optim: OptimizerSettings { get }
}

/// A post-training recipe: the model it starts from, its chat data, its loop and its optimizer.
public protocol PostTrainingConfiguration: TrainingConfiguration where Train == LoopSettings {
    var model: InitSettings { get set }
    var data: ChatDataSettings { get set }
    var lora: LoRASettings { get }
}

extension PostTrainingConfiguration {
    /// The checks every post-training recipe shares (`run`, `train`, `optim`, `data`, `lora`);
    /// each recipe's `validate()` calls it before its own.
    func validatePostTraining() throws {
        try run.validate()
        try KernelVariant.requireRecipeValue(kernels)
        try train.validate()
        try optim.validate()
        try data.validate()
        try lora.validate()
    }
}

/// A stage as the CLI and the pipeline run it: made from its recipe, it trains and returns its
/// final model folder (nil when interrupted after checkpointing).
public protocol RunnableStage {
    associatedtype Config: TrainingConfiguration
    init(
        config: Config, run: RunDirectory, device: Device, interruption: Interruption,
        emit: @escaping (TrainingEvent) -> Void)
    func train() throws -> URL?
}

extension TrainingStage {
    /// Saves the final model with `save`, says so, and returns its folder: how every stage ends.
    /// `save` writes into a temporary folder that is renamed to `final/` once complete, so an
    /// interrupted save (a kill, a full disk) never leaves a `final/` without its files.
    func finish(_ save: (URL) throws -> Void) throws -> URL {
        let final = run.finalModelURL
        let partial = run.url.appendingPathComponent(".final.partial")
        try? FileManager.default.removeItem(at: partial)
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        try save(partial)
        try? FileManager.default.removeItem(at: final)
        try FileManager.default.moveItem(at: partial, to: final)
        emit(.finished(step: config.train.steps, finalModel: final.path))
        return run.finalModelURL
    }
}
