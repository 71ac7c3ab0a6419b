import Core

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
