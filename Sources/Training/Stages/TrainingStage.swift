import Core
import Formats
import Models
import Tensors

/// What every training stage holds: its recipe, its run directory, the device it trains on and
/// where its progress events go. Each stage subclasses it and adds `train() -> URL?` (the final
/// model folder, or nil when interrupted after checkpointing).
public class TrainingStage<Config: StageConfiguration> {
    public let config: Config
    public let run: RunDirectory
    public let device: Device
    let emit: (TrainingEvent) -> Void

    /// Prepares a run of `config` in `run` on `device`; `emit` receives progress events.
    public init(config: Config, run: RunDirectory, device: Device, emit: @escaping (TrainingEvent) -> Void) {
        self.config = config
        self.run = run
        self.device = device
        self.emit = emit
    }
}

/// A post-training recipe: the model it starts from, its chat data, its loop and its optimizer.
public protocol PostTrainingConfiguration: StageConfiguration {
    var model: InitSettings { get set }
    var data: ChatDataSettings { get set }
    var train: LoopSettings { get }
    var optim: OptimizerSettings { get }
    var lora: LoRASettings { get }
}

extension PostTrainingConfiguration {
    /// The checks every post-training recipe shares (its `lora:` section); each recipe's
    /// `validate()` calls it before its own.
    func validatePostTraining() throws {
        if let problem = lora.problem { throw ConfigError(source: "config", line: nil, message: problem) }
    }
}

extension TrainingStage where Config: PostTrainingConfiguration {
    /// The loop that trains `models` (checkpoint name, parameters), each with its own AdamW
    /// from the recipe's `optim`; the resolved recipe is kept as the run's `config.yaml`.
    func makeLoop(training models: [(name: String, store: ParameterStore)], adapters: [LoRAAdapters?] = []) throws -> StageLoop {
        let trainees = try models.map {
            TrainerCheckpoint.Trainee(name: $0.name, store: $0.store, optimizer: try config.optim.makeOptimizer(for: $0.store))
        }
        try run.writeConfig(config)
        let loop = try StageLoop(run: run, trainees: trainees, settings: config.train, optim: config.optim, emit: emit)
        loop.adapters = adapters.compactMap { $0 }
        return loop
    }
}
