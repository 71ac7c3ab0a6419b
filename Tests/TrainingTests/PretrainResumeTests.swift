import Core
import Datasets
import Foundation
import Models
import TestSupport
import XCTest

@testable import Training

/// Pretraining end to end on a small prepared dataset: an interrupted and resumed run ends
/// with the same bits as an uninterrupted one.
final class PretrainResumeTests: XCTestCase {
    /// What the runs of a test answer; a test requests it to interrupt a run at a chosen step.
    private var interruption = Interruption()
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("pretrain")
    }

    override func tearDown() {
        interruption = Interruption()
    }

    /// A dataset of seeded random tokens over a vocabulary of 50.
    private func makeDataset() throws -> URL {
        let folder = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var random = TestRandom(seed: 1)
        let train = random.ints(3000, below: 50)
        let validation = random.ints(400, below: 50)
        try TokenShard.write(train, to: folder.appendingPathComponent("train-00000.bin"))
        try TokenShard.write(validation, to: folder.appendingPathComponent("validation-00000.bin"))
        let meta = PreparedDataset.Meta(
            vocabSize: 50, endOfTextID: 0, trainTokens: train.count, validationTokens: validation.count,
            trainShards: ["train-00000.bin"], validationShards: ["validation-00000.bin"])
        try JSONEncoder().encode(meta).write(to: folder.appendingPathComponent("meta.json"))
        return folder
    }

    private func config(data: URL) -> PretrainConfig {
        var config = PretrainConfig()
        config.data.shards = data.path
        config.model = .init(
            type: .llama, hiddenSize: 32, layers: 2, heads: 4, keyValueHeads: 2, intermediateSize: 48,
            maxPositions: 32, tieEmbeddings: false)
        config.train = .init(
            batchSize: 2, sequenceLength: 16, gradientAccumulation: 2, steps: 6, evalEvery: 3, evalBatches: 1,
            checkpointEvery: 4, seed: 7, dropout: 0.1)
        config.optim.warmupSteps = 2
        return config
    }

    private func finalWeights(_ run: URL) throws -> Data {
        try Data(contentsOf: run.appendingPathComponent("final/model.safetensors"))
    }

    func testInterruptedRunResumesToIdenticalWeights() throws {
        let device = try TestDevices.openCL.get()
        let config = config(data: try makeDataset())
        let straight = root.appendingPathComponent("straight")
        var events: [TrainingEvent] = []
        try PretrainStage(
            config: config, run: RunDirectory(url: straight, existing: .refuse), device: device,
            interruption: interruption
        ) { events.append($0) }.train()
        let steps = events.compactMap { if case .step(let m) = $0 { return m } else { return nil } }
        XCTAssertEqual(steps.map(\.step), Array(1...6))
        XCTAssertEqual(steps.compactMap(\.validationLoss).count, 2, "validation at steps 3 and 6")

        // Interrupt between the checkpoints at 4 and 6: after step 5 the run checkpoints and stops.
        let interrupted = root.appendingPathComponent("interrupted")
        let stopped = try PretrainStage(
            config: config, run: RunDirectory(url: interrupted, existing: .refuse), device: device,
            interruption: interruption
        ) { event in
            if case .step(let m) = event, m.step == 5 { self.interruption.request() }
        }.train()
        XCTAssertNil(stopped)
        interruption = Interruption()
        XCTAssertThrowsError(try RunDirectory(url: interrupted, existing: .refuse), "an existing run needs --resume")
        var resumedEvents: [TrainingEvent] = []
        try PretrainStage(
            config: config, run: RunDirectory(url: interrupted, existing: .resume), device: device,
            interruption: interruption
        ) {
            resumedEvents.append($0)
        }.train()
        guard
            case .started(_, _, _, _, let resumedAt) = resumedEvents.first(where: {
                if case .started = $0 { true } else { false }
            })
        else {
            return XCTFail("no start event")
        }
        XCTAssertEqual(resumedAt, 5)
        XCTAssertEqual(try finalWeights(interrupted), try finalWeights(straight), "bit-identical final weights")
        let lines = try String(contentsOf: interrupted.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(
            separator: "\n")
        XCTAssertEqual(lines.count, 6, "one metrics line per step, none repeated")
    }

    func testMissingDataIsAClearError() throws {
        var config = PretrainConfig()
        config.data.shards = root.appendingPathComponent("nowhere").path
        XCTAssertThrowsError(
            try PretrainStage(
                config: config, run: RunDirectory(url: root.appendingPathComponent("run"), existing: .refuse),
                device: TestDevices.reference()
            ) { _ in }.train()
        ) { error in
            XCTAssertTrue("\(error)".contains("gputrain data prepare"), "\(error)")
        }
    }
}
