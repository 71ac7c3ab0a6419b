import Datasets
import Formats
import Foundation
import Inference
import Models
import Tensors

/// What a post-training stage supplies of its own: how it reads and encodes its data, which
/// models it holds, what one step computes, how it evaluates and what it saves.
/// `TrainingStage.runPostTraining` runs the sequence every such stage shares (validate the
/// recipe, open the model folder, read, split, check memory, load, loop, save), so a new stage
/// is its own logic plus its recipe.
///
/// A stage calls the driver from `train()`: `try runPostTraining(self)`.
protocol PostTrainingStage: RunnableStage where Config: PostTrainingConfiguration {
    /// One encoded datum: a chat example, a preference pair, a prompt.
    associatedtype Item
    /// The loaded models and whatever the steps, the evaluation and the save share.
    associatedtype Session

    /// The stage's recipe (`TrainingStage.config`).
    var config: Config { get }

    /// The stage's name in messages ("SFT", "DPO", …).
    static var title: String { get }
    /// What one item is called in messages ("example", "preference pair", "prompt").
    static var itemName: String { get }

    /// How many batches of `train.batch_size` items a step draws: one per micro-batch
    /// (`train.gradient_accumulation`, the default) where the data is the micro-batch; one for
    /// the online stages, which split their rollouts themselves.
    var batchesPerStep: Int { get }

    /// The recipe's data, encoded with `folder`'s tokenizer and template, length limits
    /// applied; stage-specific checks of other inputs (a reward model's folder) come first.
    func read(_ folder: ChatModelFolder) throws -> [Item]

    /// The models the stage will hold on the device, for the memory check before loading.
    func plannedModels(_ folder: ChatModelFolder) throws -> [PlannedModel]

    /// Loads the models (and anything else the steps need) for training on `data`.
    func load(_ folder: ChatModelFolder, data: StageData<Item>) throws -> Session

    /// The models the loop trains, the first being the one whose gradient norm is reported.
    func trainees(of session: Session) -> [TrainedModel]

    /// Runs before the first step of a new run (not a resumed one) when items are held out:
    /// what the stage reports about the starting model. The default does nothing.
    func beforeTraining(_ session: Session, heldout: [Item]) throws

    /// One step on `batches` (`batchesPerStep` of them, drawn for step `index`): forward,
    /// backward and `update()`, which updates every trained model at the step's learning rate
    /// and returns the first's gradient norm.
    func step(_ session: Session, batches: [[Item]], index: Int, update: () throws -> Float) throws
        -> StageLoop.StepResult

    /// Held-out figures (`eval/loss` is reported as `val_loss`).
    func evaluate(_ session: Session, heldout: [Item]) throws -> [String: Double]

    /// Writes the final model (and the stage's report) into `url`.
    func save(_ session: Session, folder: ChatModelFolder, data: StageData<Item>, to url: URL) throws
}

extension PostTrainingStage {
    var batchesPerStep: Int { config.train.gradientAccumulation }
    func beforeTraining(_ session: Session, heldout: [Item]) throws {}
}

/// A stage's data: every item read, and its split into training and held-out items.
struct StageData<Item> {
    var all: [Item]
    var train: [Item]
    var heldout: [Item]
}

/// A model a stage trains: its name in checkpoints (`model`, `value`), its parameters, and its
/// LoRA adapters when it has them (their dropout follows the loop).
struct TrainedModel {
    var name: String
    var parameters: ParameterStore
    var adapters: LoRAAdapters? = nil
}

extension TrainingStage where Config: PostTrainingConfiguration {
    /// The sequence every post-training stage runs, with `stage`'s own logic (`stage` is the
    /// stage itself). Returns the final model folder, or nil when interrupted after checkpointing.
    func runPostTraining<Stage: PostTrainingStage>(_ stage: Stage) throws -> URL? where Stage.Config == Config {
        try config.validate()
        let folder = try ChatModelFolder(
            url: config.model.folder(stage: Stage.title), templateName: config.data.template.rawValue)
        let all = try stage.read(folder)
        let (train, heldout) = try split(all, what: Stage.itemName)
        let data = StageData(all: all, train: train, heldout: heldout)
        try requireMemory(for: stage.plannedModels(folder))
        let session = try stage.load(folder, data: data)
        let loop = try makeLoop(training: stage.trainees(of: session))
        if !heldout.isEmpty, TrainerCheckpoint.latest(in: run.url) == nil {
            try stage.beforeTraining(session, heldout: heldout)
        }
        let order = EpochOrder(count: train.count, seed: UInt64(config.train.seed))
        let draws = stage.batchesPerStep
        let batchSize = config.train.batchSize
        let finished = try loop(
            step: { index in
                let batches = (0..<draws).map { draw in
                    order.batch(index * draws + draw, size: batchSize).map { train[$0] }
                }
                return try stage.step(
                    session, batches: batches, index: index,
                    update: { try loop.trainees.map { try loop.update($0) }[0] })
            },
            evaluate: heldout.isEmpty ? nil : { try stage.evaluate(session, heldout: heldout) })
        guard finished else { return nil }
        return try finish { try stage.save(session, folder: folder, data: data, to: $0) }
    }

    /// `items` split into training and held-out ones (`data.heldout_fraction` of them, the
    /// last after a shuffle seeded by `train.seed`); an error when none is left to train on,
    /// naming the data file and what it lacks (`what`: "example", "preference pair", …).
    private func split<Item>(_ items: [Item], what: String) throws -> (train: [Item], heldout: [Item]) {
        let (train, heldout) = EpochOrder.split(
            items, heldoutFraction: config.data.heldoutFraction, seed: UInt64(config.train.seed))
        guard !train.isEmpty else {
            throw ConfigError(
                source: "config", line: nil,
                message: "'data.path' (\(config.data.path)) has no \(what) that fits "
                    + "max_length \(config.data.maxLength); raise data.max_length or set data.max_prompt_length")
        }
        return (train, heldout)
    }
}
