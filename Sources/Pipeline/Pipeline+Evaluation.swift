import Datasets
import Formats
import Foundation
import Inference
import Models
import TinyWorld
import Training

extension Pipeline {
    /// The evaluation step: every model the run made answers the held-out questions (greedy),
    /// judged by the tiny world's judge and scored by the reward model; KL to the SFT model on
    /// sampled answers; then `report.json`, `report.md`, the answers of each model in
    /// `eval/<model>.jsonl` and a plot of each stage's training curves in `plots/`.
    func runEvaluation() throws -> Bool {
        let started = Date()
        let sftFolder = try ChatModelFolder(url: finalModel("sft"), field: "the SFT model")
        let world = data.world
        let questions = try ChatEvaluation.readQuestions(world.appendingPathComponent("eval_questions.jsonl"))
        let judge = TinyWorldJudge(world: TinyWorld(seed: UInt64(config.data.seed), size: config.data.size.size))
        let settings = ChatEvaluation.Settings(
            maxNewTokens: config.eval.maxNewTokens, batchSize: config.eval.batchSize,
            klSeed: UInt64(config.eval.seed))
        let evaluation = try ChatEvaluation(
            encoder: sftFolder.encoder, questions: questions, judge: judge, settings: settings)
        let rewardModel =
            config.stages.contains(.reward)
            ? try RewardScorer(folder: finalModel("reward"), device: device, field: "the reward model") : nil
        let sft = try sftFolder.loadModel(device: device, trainable: false)
        let folders: [(PipelineModel, URL)] =
            [(.base, finalModel("pretrain")), (.sft, finalModel("sft"))]
            + [PipelineModel.dpo, .ppo, .grpo].filter { model in config.stages.map(\.rawValue).contains(model.rawValue)
            }
            .map { ($0, finalModel($0.rawValue)) }
        var report = PipelineReport()
        var samples: [PipelineModel: [ChatAnswer]] = [:]
        let answersFolder = root.appendingPathComponent("eval")
        try FileManager.default.createDirectory(at: answersFolder, withIntermediateDirectories: true)
        for (name, folder) in folders {
            let model = name == .sft ? sft : try ModelFolder.load(folder, device: device, trainable: false).model
            var result = try evaluation.evaluate(model, klReference: name == .base ? nil : sft)
            if let rewardModel {
                // Scored in batches afterwards rather than answer by answer during generation.
                let scores = try rewardModel.scores(
                    prompts: result.answers.map(\.question.prompt), answers: result.answers.map(\.text))
                for index in result.answers.indices { result.answers[index].reward = scores[index] }
                result.scorecard = ModelScorecard(answers: result.answers, klToSFT: result.scorecard.klToSFT)
            }
            report.models[name] = result.scorecard
            samples[name] = PipelineReport.sampleAnswers(result.answers)
            try JSONLines.write(result.answers, to: answersFolder.appendingPathComponent("\(name.rawValue).jsonl"))
            let card = result.scorecard
            emit(
                .note(
                    String(
                        format:
                            "%@: answer rate %.2f, accuracy %.2f (pretraining-only %@), judge %.3f, reward %@, length %.1f",
                        name.rawValue, card.answerRate, card.accuracy,
                        card.accuracyPretrainOnly.map { String(format: "%.2f", $0) } ?? "–",
                        card.judgeScore, card.reward.map { String(format: "%.3f", $0) } ?? "–", card.meanLength)))
        }
        report.rewardModel = try rewardModelAccuracy()
        if config.stages.contains(.reward) || config.stages.contains(.dpo) {
            report.preferencesSource = config.preferences.source.rawValue
        }
        // This step's own time so far counts too (the report is its last act).
        var seconds = state.seconds
        seconds["eval", default: 0] += Date().timeIntervalSince(started)
        report.seconds = PipelineReport.StageSeconds(
            Dictionary(
                uniqueKeysWithValues: seconds.compactMap { key, value in
                    PipelineStage(rawValue: key).map { ($0, value) }
                }))
        try report.write(to: root, samples: samples, plots: try writePlots())
        return true
    }

    /// The reward model's held-out accuracy, from its stage's `reward_report.json`.
    private func rewardModelAccuracy() throws -> PipelineReport.RewardModelAccuracy? {
        guard config.stages.contains(.reward) else { return nil }
        let figures = try RewardReport.read(from: stageFolder("reward"))
        return figures.heldoutAccuracy.map {
            PipelineReport.RewardModelAccuracy(
                heldoutAccuracy: $0, heldoutAccuracyByKind: figures.heldoutAccuracyByKind)
        }
    }

    /// One SVG of training curves per stage that kept metrics; returns the stages plotted.
    private func writePlots() throws -> [String] {
        let plots = root.appendingPathComponent("plots")
        try FileManager.default.createDirectory(at: plots, withIntermediateDirectories: true)
        return try (["pretrain"] + config.stages.map(\.rawValue)).filter { stage in
            let metrics = stageFolder(stage).appendingPathComponent("metrics.jsonl")
            guard FileManager.default.fileExists(atPath: metrics.path) else { return false }
            try MetricsPlot.write(metrics: metrics, to: plots.appendingPathComponent("\(stage).svg"), title: stage)
            return true
        }
    }
}
