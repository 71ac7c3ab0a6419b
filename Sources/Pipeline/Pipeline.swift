import Core
import Datasets
import Formats
import Foundation
import TinyWorld
import Training

/// `gputrain pipeline`: data → tokenizer → pretrain → SFT → reward model → DPO and PPO (both
/// from the SFT model) → evaluation → report, each stage in its own folder of the run
/// (`<run>/pretrain`, `<run>/sft`, …) with the usual metrics, checkpoints and final model.
///
/// With `resume`, stages recorded as finished in `pipeline.json` are skipped and the
/// interrupted one continues from its latest checkpoint.
public final class Pipeline {
    public let config: PipelineConfig
    /// The run's folder.
    public let directory: RunDirectory
    public var root: URL { directory.url }
    public let device: Device
    private let resume: Bool
    /// Requested to stop the running stage cleanly (the CLI connects it to Ctrl-C).
    public let interruption: Interruption
    let emit: (TrainingEvent) -> Void
    private(set) var state: PipelineState

    /// A pipeline writing into `directory` (opened by the caller, refusing or clearing an old one
    /// unless resuming).
    public init(
        config: PipelineConfig, directory: RunDirectory, device: Device, resume: Bool,
        interruption: Interruption = Interruption(), emit: @escaping (TrainingEvent) -> Void
    ) throws {
        self.config = config
        self.directory = directory
        self.device = device
        self.resume = resume
        self.interruption = interruption
        self.emit = emit
        state =
            resume
            ? try PipelineState.load(from: directory.url.appendingPathComponent("pipeline.json")) : PipelineState()
    }

    /// The folders of the run.
    public var data: TinyWorldData.Layout { TinyWorldData.Layout(root: root.appendingPathComponent("data")) }
    public func stageFolder(_ stage: String) -> URL { root.appendingPathComponent(stage) }
    public func finalModel(_ stage: String) -> URL { stageFolder(stage).appendingPathComponent("final") }
    public var reportURL: URL { root.appendingPathComponent("report.md") }

    /// Runs every stage not yet finished; returns the report's path, or nil when interrupted.
    @discardableResult
    public func run() throws -> URL? {
        try config.validate()
        let size = config.data.size.size
        try directory.writeConfig(config)
        // (step, the report's time bucket, work): the world and its shards both count as "data".
        let steps: [(String, String, () throws -> Bool)] =
            [
                (
                    "world", "data",
                    {
                        try self.note(
                            TinyWorldData.ensureWorld(self.data, size: size, seed: UInt64(self.config.data.seed)))
                    }
                ),
                (
                    "tokenizer", "tokenizer",
                    {
                        try self.note(
                            TinyWorldData.ensureTokenizer(self.data, vocabularySize: self.config.data.vocabSize))
                    }
                ),
                ("tokens", "data", { try self.note(TinyWorldData.ensureTokens(self.data)) }),
                ("pretrain", "pretrain", runPretrain),
            ] + config.stages.map { stage in (stage.rawValue, stage.rawValue, { try self.runStage(stage) }) } + [
                ("eval", "eval", runEvaluation)
            ]
        for (step, bucket, work) in steps {
            if state.completed.contains(step) {
                emit(.note("\(step): finished earlier, skipped"))
                continue
            }
            emit(.note("── \(step) ──"))
            let started = Date()
            let finished = try work()
            state.seconds[bucket, default: 0] += Date().timeIntervalSince(started)
            if finished { state.completed.append(step) }
            try state.save(to: root.appendingPathComponent("pipeline.json"))
            guard finished else { return nil }
        }
        emit(.note("report: \(reportURL.path)"))
        return reportURL
    }

    private func note(_ message: String?) -> Bool {
        message.map { emit(.note($0)) }
        return true
    }

    private func stageRun(_ stage: String) throws -> RunDirectory {
        var run = try RunDirectory(url: stageFolder(stage), existing: resume ? .resume : .overwrite)
        run.allowedChanges = directory.allowedChanges
        // The stages of one pipeline share its cache (a rerun with --overwrite starts afresh).
        run.cacheFolder = directory.url.appendingPathComponent(".cache")
        return run
    }

    private var deviceName: String { config.device }

    private func runPretrain() throws -> Bool {
        var recipe = config.pretrain
        recipe.run.out = root.path
        recipe.data.tinyWorld = data.root.lastPathComponent
        recipe.data.tinyWorldSize = config.data.size
        recipe.data.vocabSize = config.data.vocabSize
        recipe.device = deviceName
        recipe.kernels = config.kernels
        return try train(PretrainStage.self, recipe, folder: "pretrain")
    }

    /// Trains `Stage` on `recipe` in the run's folder `folder`; false when interrupted.
    private func train<Stage: RunnableStage>(_: Stage.Type, _ recipe: Stage.Config, folder: String) throws -> Bool {
        let stage = Stage(
            config: recipe, run: try stageRun(folder), device: device, interruption: interruption, emit: emit)
        return try stage.train() != nil
    }

    /// The model each stage starts from: the SFT model for every stage after SFT.
    private func initialModel(for stage: PipelineConfig.Stage) -> URL {
        stage == .sft ? finalModel("pretrain") : finalModel("sft")
    }

    /// `recipe` linked into the run: it starts from the model `stage` follows and reads the
    /// world's `file`.
    private func linked<Config: PostTrainingConfiguration>(
        _ recipe: Config, _ stage: PipelineConfig.Stage, data file: String
    ) -> Config {
        linked(recipe, stage, data: data.world.appendingPathComponent(file))
    }

    /// `recipe` linked into the run: it starts from the model `stage` follows and reads `url`.
    private func linked<Config: PostTrainingConfiguration>(
        _ recipe: Config, _ stage: PipelineConfig.Stage, data url: URL
    ) -> Config {
        var recipe = recipe
        recipe.model.initFrom = initialModel(for: stage).path
        recipe.data.path = url.path
        return recipe
    }

    private func runStage(_ stage: PipelineConfig.Stage) throws -> Bool {
        let folder = stage.rawValue
        switch stage {
        case .sft: return try train(SFTStage.self, linked(config.sft, stage, data: "sft.jsonl"), folder: folder)
        case .reward:
            return try train(RewardStage.self, linked(config.reward, stage, data: preferenceData()), folder: folder)
        case .dpo: return try train(DPOStage.self, linked(config.dpo, stage, data: preferenceData()), folder: folder)
        case .ppo:
            var recipe = linked(
                config.ppo(sftChats: data.world.appendingPathComponent("sft.jsonl").path), stage,
                data: "rl_prompts.jsonl")
            recipe.rewardModel = finalModel("reward").path
            return try train(PPOStage.self, recipe, folder: folder)
        case .grpo:
            var recipe = linked(config.grpo, stage, data: "rl_prompts.jsonl")
            if config.stages.contains(.reward) { recipe.rewardModel = finalModel("reward").path }
            return try train(GRPOStage.self, recipe, folder: folder)
        }
    }
}
