import Core
import Datasets
import Formats
import Foundation
import Models
import Tensors
import TinyWorld

/// Stage 1, pretraining: next-token cross-entropy on token shards, with AdamW, warmup and a
/// decaying schedule, clipping, gradient accumulation, periodic validation and checkpoints,
/// exact resume, and a final model folder in Hugging Face layout.
public final class PretrainStage: TrainingStage<PretrainConfig>, RunnableStage {
    /// Trains to `config.train.steps` (continuing from the latest checkpoint when there is one)
    /// and returns the final model folder, or nil when interrupted (after checkpointing).
    @discardableResult
    public func train() throws -> URL? {
        try config.validate()
        let data = try PreparedDataset(folder: try prepareData())
        let t = config.train
        let modelConfig = try plannedModelConfig(vocabSize: data.meta.vocabSize, endOfText: data.meta.endOfTextID)
        try requireFits(data, modelConfig)
        let estimate = MemoryEstimate(
            languageModel: modelConfig, batchSize: t.batchSize, sequenceLength: t.sequenceLength, training: true)
        emit(.note(estimate.summary))
        try estimate.requireFits(on: device)
        let model = try makeModel(modelConfig)
        let loop = try makeLoop(training: [TrainedModel(name: "model", parameters: model.parameters)])
        let trainee = loop.trainees[0]
        let trainingStep = TrainingStep(model: model)
        var sampler = try BatchSampler(
            count: data.train.count, token: { data.train[$0] }, batchSize: t.batchSize,
            sequenceLength: t.sequenceLength, seed: UInt64(t.seed))
        let finished = try loop(
            step: { step in
                sampler.seek(toBatch: step * t.gradientAccumulation)
                let batches = (0..<t.gradientAccumulation).map { _ in sampler.next() }
                try Self.requireIDs(in: batches, of: data, below: modelConfig.vocabSize, step: step)
                let (loss, norm) = try trainingStep.run(
                    batches: batches,
                    dropout: { micro in
                        t.dropout > 0
                            ? DropoutSettings(
                                probability: Float(t.dropout),
                                seed: UInt64(t.seed) &+ UInt64(step * t.gradientAccumulation + micro) &* 1_000_003)
                            : nil
                    },
                    update: { try loop.update(trainee, whileIdle: $0) })
                return StageLoop.StepResult(
                    loss: loss, gradientNorm: Double(norm),
                    tokens: t.batchSize * t.sequenceLength * t.gradientAccumulation)
            },
            evaluate: t.evalEvery > 0
                ? {
                    ["eval/loss": try self.validationLoss(model, data: data, windows: t.evalBatches * t.batchSize).loss]
                } : nil)
        guard finished else { return nil }
        return try finish { url in
            try ModelFolder.save(model, to: url)
            try copyTokenizer(from: data, to: url)
            try writeReport(model, data: data)
        }
    }

    /// The tokenizer of the shards into the model folder `url`, with ChatML's
    /// `tokenizer_config.json` when the tokenizer has its tokens.
    private func copyTokenizer(from data: PreparedDataset, to url: URL) throws {
        if FileManager.default.fileExists(atPath: data.tokenizerURL.path) {
            let target = url.appendingPathComponent("tokenizer.json")
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: data.tokenizerURL, to: target)
            // ChatML for the fine-tuning stages (the base model has not seen it yet, but they start from here).
            let tokenizer = try Tokenizer(contentsOf: target)
            if tokenizer.id(of: "<|im_start|>") != nil, tokenizer.id(of: "<|im_end|>") != nil {
                try TokenizerConfigWriter.write(
                    template: .chatML, tokenizer: tokenizer,
                    to: url.appendingPathComponent("tokenizer_config.json"))
            }
        }
    }

    /// The generated tiny world's folder: `data.tiny_world` inside `run.out`.
    private var tinyWorldRoot: URL {
        URL(fileURLWithPath: config.run.out).appendingPathComponent(config.data.tinyWorld)
    }

    /// The shards folder, generating the tiny world first when the recipe asks for it.
    private func prepareData() throws -> URL {
        guard !config.data.tinyWorld.isEmpty else { return URL(fileURLWithPath: config.data.shards) }
        let size = config.data.tinyWorldSize.size
        let (layout, notes) = try TinyWorldData.ensure(
            root: tinyWorldRoot, size: size, seed: UInt64(config.train.seed),
            vocabularySize: config.data.vocabSize)
        notes.forEach { emit(.note($0)) }
        return layout.tokens
    }

    /// What the base model learned, in `pretrain_report.json`: its loss on the whole
    /// validation split next to an add-one bigram model's on the same tokens, and the
    /// knowledge probe.
    private func writeReport(_ model: LanguageModel, data: PreparedDataset) throws {
        let length = config.train.sequenceLength
        let (modelLoss, windows) = try validationLoss(model, data: data, windows: nil)
        let bigram = BigramBaseline(vocabularySize: data.meta.vocabSize, count: data.train.count) { data.train[$0] }
            .loss(count: windows * length + 1) { data.validation[$0] }
        var report = PretrainReport(
            validationLoss: modelLoss, bigramValidationLoss: bigram, validationTokens: windows * length)
        emit(
            .note(
                String(
                    format: "validation loss %.4f; add-one bigram baseline %.4f on the same %d tokens", modelLoss,
                    bigram, windows * length)))
        let probes =
            config.data.tinyWorld.isEmpty
            ? config.data.probes
            : TinyWorldData.Layout(root: tinyWorldRoot).probes.path
        if !probes.isEmpty, FileManager.default.fileExists(atPath: probes),
            FileManager.default.fileExists(atPath: data.tokenizerURL.path)
        {
            let probe = try KnowledgeProbe.run(
                model, tokenizer: Tokenizer(contentsOf: data.tokenizerURL), probesFile: URL(fileURLWithPath: probes))
            report.knowledgeProbe = probe
            emit(
                .note(
                    String(
                        format:
                            "knowledge probe: %.1f%% of %d facts completed correctly (%.1f%% for pretraining-only entities; chance %.1f%%)",
                        100 * probe.accuracy, probe.probes, 100 * probe.accuracyPretrainOnly, 100 * probe.chance)))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(encoder.encode(report), to: run.url.appendingPathComponent("pretrain_report.json"))
    }

    /// Throws unless the data's ids and the recipe's sequence length fit the model: its vocabulary
    /// and its positions (a model from `init_from` has its own).
    private func requireFits(_ data: PreparedDataset, _ model: ModelConfig) throws {
        guard data.meta.vocabSize <= model.vocabSize else {
            throw ConfigError(
                source: "config", line: nil,
                message: "the shards in '\(data.folder.path)' have a \(data.meta.vocabSize)-token vocabulary, "
                    + "but the model's vocab_size is \(model.vocabSize); prepare the data with the model's tokenizer")
        }
        guard config.train.sequenceLength <= model.contextLength else {
            throw ConfigError.value(
                "train.sequence_length", config.train.sequenceLength,
                mustBe: "at most the model's \(model.contextLength) positions")
        }
    }

    /// Throws unless every id of `batches` is inside the model's vocabulary: a shard damaged after
    /// it was prepared is caught at the step that reads it.
    private static func requireIDs(
        in batches: [BatchSampler.Batch], of data: PreparedDataset, below vocabulary: Int, step: Int
    ) throws {
        for batch in batches {
            for ids in [batch.inputs, batch.targets] {
                guard let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabulary }) else { continue }
                throw DatasetError.file(
                    data.folder.path,
                    "step \(step + 1) reads token id \(bad), outside the model's vocabulary of \(vocabulary); "
                        + "the shards are damaged or were prepared with another tokenizer: run `gputrain data prepare` again"
                )
            }
        }
    }

    /// The configuration of the model to train: `init_from`'s config.json, or the configured shape.
    private func plannedModelConfig(vocabSize: Int, endOfText: Int) throws -> ModelConfig {
        if !config.model.initFrom.isEmpty {
            return try ModelConfig(
                contentsOf: URL(fileURLWithPath: config.model.initFrom).appendingPathComponent("config.json"))
        }
        return config.modelConfig(vocabSize: vocabSize, endOfText: endOfText)
    }

    /// `init_from`'s model, or a fresh one of `modelConfig` (HF initialisation from the seed).
    private func makeModel(_ modelConfig: ModelConfig) throws -> LanguageModel {
        if !config.model.initFrom.isEmpty {
            return try ModelFolder.load(URL(fileURLWithPath: config.model.initFrom), device: device).model
        }
        let store = try ParameterStore(device: device, specs: ModelParameters.specs(for: modelConfig), label: "model")
        let model = try makeLanguageModel(config: modelConfig, parameters: store)
        try WeightInitializer.initialize(model, seed: UInt64(config.train.seed))
        return model
    }

    /// Mean next-token loss over the first `windows` windows of the validation split (always the
    /// same ones; nil: the whole split), and how many windows that was.
    private func validationLoss(_ model: LanguageModel, data: PreparedDataset, windows limit: Int?) throws
        -> (loss: Double, windows: Int)
    {
        let length = config.train.sequenceLength
        var sampler = try BatchSampler(
            count: data.validation.count, token: { data.validation[$0] }, batchSize: 1,
            sequenceLength: length, seed: 0, shuffle: false)
        let windows = min(limit ?? sampler.windowsPerEpoch, sampler.windowsPerEpoch)
        let loss = try Tensor.withNoGrad {
            var total = 0.0
            for _ in 0..<windows {
                total += Double(try languageModelLoss(model, batch: sampler.next(), dropout: nil).scalar())
            }
            return total / Double(windows * length)
        }
        return (loss, windows)
    }
}

/// `pretrain_report.json`: what the base model learned (`PretrainStage.writeReport`).
struct PretrainReport: Encodable {
    /// Mean next-token loss over the whole validation split.
    var validationLoss: Double
    /// An add-one bigram model's loss on the same tokens.
    var bigramValidationLoss: Double
    var validationTokens: Int
    /// The knowledge probe, when the recipe has probes.
    var knowledgeProbe: KnowledgeProbe.Result?

    enum CodingKeys: String, CodingKey {
        case validationLoss = "validation_loss"
        case bigramValidationLoss = "bigram_validation_loss"
        case validationTokens = "validation_tokens"
        case knowledgeProbe = "knowledge_probe"
    }
}
