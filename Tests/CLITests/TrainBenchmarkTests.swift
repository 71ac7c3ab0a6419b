import Benchmarking
import Formats
import Foundation
import OpenCLDevice
import Runtime
import TestSupport
import XCTest

/// `gputrain bench train`: the library on tiny shapes (the presets are too slow for a debug
/// build), the FLOPs formula by hand, and the command's JSON contract.
final class TrainBenchmarkTests: XCTestCase {
    static let jsonKeys: Set = [
        "preset", "ms_per_step", "tokens_per_s", "mfu", "peak_device_bytes", "peak_rss_bytes", "device",
    ]

    /// GPT-2 with one layer of width 32, vocabulary 64, 2 sequences of 8 tokens.
    private func tinyShape(_ type: ModelType = .gpt2) throws -> TrainBenchmarkShape {
        let model = ModelConfig(
            modelType: type, vocabSize: 64, hiddenSize: 32, layerCount: 1, headCount: 2,
            intermediateSize: 64, maxPositions: 16)
        return try TrainBenchmarkShape(name: "tiny", model: model, batchSize: 2, sequenceLength: 8)
    }

    private func assertPositive(_ result: TrainBenchmarkResult, file: StaticString = #filePath, line: UInt = #line)
        throws
    {
        XCTAssertGreaterThan(result.msPerStep, 0, file: file, line: line)
        XCTAssertGreaterThan(result.tokensPerSecond, 0, file: file, line: line)
        XCTAssertGreaterThan(result.mfu, 0, file: file, line: line)
        XCTAssertGreaterThan(result.peakDeviceBytes, 0, file: file, line: line)
        XCTAssertGreaterThan(result.peakRSSBytes, 0, file: file, line: line)
        XCTAssertEqual(
            result.tokensPerSecond, 16 / (result.msPerStep / 1000), accuracy: 1e-6 * result.tokensPerSecond, file: file,
            line: line)
        let json = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(result.jsonLine.utf8)) as? [String: Any], file: file, line: line)
        XCTAssertEqual(Set(json.keys), Self.jsonKeys, file: file, line: line)
        XCTAssertEqual(json["preset"] as? String, "tiny", file: file, line: line)
    }

    func testOpenCLStepWithMeasuredPeakAndProfile() throws {
        let device = try OpenCLDevice(profiling: true)
        var benchmark = TrainBenchmark(device: device, shape: try tinyShape(.llama), steps: 1)
        benchmark.warmupSteps = 1
        benchmark.peakMatmulSize = 64
        benchmark.profile = true
        let result = try benchmark.run()
        try assertPositive(result)
        XCTAssertTrue(result.peakIsMeasured)
        XCTAssertLessThan(
            result.peakDeviceBytes, 64 * 64 * 4 * 3 + 4_000_000, "the peak matmul's buffers come after the reading")
        let profile = try XCTUnwrap(result.profile)
        XCTAssertGreaterThan(
            profile.first { $0.kernel == "adamw_step" }?.launches ?? 0, 0, "one AdamW launch per timed step")
        XCTAssertTrue(profile.allSatisfy { $0.seconds >= 0 && $0.launches > 0 })
        XCTAssertNotNil(result.profileTable)
    }

    func testReferenceStepWithQuotedPeak() throws {
        var benchmark = TrainBenchmark(device: TestDevices.reference(), shape: try tinyShape(), steps: 1)
        benchmark.warmupSteps = 0
        benchmark.peakGFLOPS = 1
        benchmark.profile = true
        let result = try benchmark.run()
        try assertPositive(result)
        XCTAssertFalse(result.peakIsMeasured)
        XCTAssertEqual(result.mfu, result.flopsPerToken * result.tokensPerSecond / 1e9, accuracy: 1e-9)
        XCTAssertNil(result.profile, "the reference device has no kernel profile")
    }

    /// `small`: per layer 12·C² + 13·C parameters (ln_1 2C, c_attn 3C² + 3C, c_proj C² + C,
    /// ln_2 2C, c_fc 4C² + 4C, mlp c_proj 4C² + C), 6 layers, plus ln_f 2C, with C = 384.
    func testFlopsPerTokenOfSmallByHand() throws {
        let small = try XCTUnwrap(TrainBenchmarkShape.preset("small"))
        let c = 384
        let nonEmbedding = 6 * (12 * c * c + 13 * c) + 2 * c
        XCTAssertEqual(nonEmbedding, 10_647_552)
        XCTAssertEqual(small.nonEmbeddingParameterCount, nonEmbedding)
        XCTAssertEqual(small.parameterCount, nonEmbedding + 8192 * c + 256 * c, "tied head: wte and wpe only")
        let parameterTerm = 6 * nonEmbedding
        let attentionTerm = 6 * 6 * c * 256
        let headTerm = 6 * 8192 * c
        XCTAssertEqual(small.flopsPerToken, Double(parameterTerm + attentionTerm + headTerm))
        XCTAssertEqual(small.flopsPerToken, 86_298_624)
        XCTAssertEqual(small.tokensPerStep, 2048)
    }

    func testPresetShapes() throws {
        let gpt2 = try XCTUnwrap(TrainBenchmarkShape.preset("gpt2-124M"))
        XCTAssertEqual(gpt2.parameterCount, 124_439_808, "GPT-2 small as Hugging Face counts it")
        XCTAssertEqual(gpt2.nonEmbeddingParameterCount, 85_056_000)
        XCTAssertEqual([gpt2.batchSize, gpt2.sequenceLength, gpt2.model.maxPositions], [4, 64, 1024])
        let llama = try XCTUnwrap(TrainBenchmarkShape.preset("llama-small"))
        XCTAssertEqual(llama.model.modelType, .llama)
        XCTAssertFalse(llama.model.tieWordEmbeddings)
        XCTAssertEqual(
            [llama.model.keyValueHeadCount, llama.model.intermediateSize, llama.model.vocabSize], [6, 1024, 8192])
        XCTAssertNil(TrainBenchmarkShape.preset("huge"))
    }

    func testCommandEndsWithOneJSONObjectForARecipe() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-train-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let recipe = folder.appendingPathComponent("tiny.yaml")
        try """
        model: {type: gpt2, hidden_size: 32, layers: 1, heads: 2, max_positions: 16}
        data: {shards: \(folder.path)/none, vocab_size: 64}
        train: {batch_size: 2, sequence_length: 8}
        """.write(to: recipe, atomically: true, encoding: .utf8)
        let result = try CommandRunner.run([
            "bench", "train", "--config", recipe.path, "--steps", "1", "--json",
            "--peak-gflops", "10", "--device", "reference",
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        let last = try XCTUnwrap(result.standardOutput.split(separator: "\n").last)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        XCTAssertEqual(Set(json.keys), Self.jsonKeys)
        XCTAssertEqual(json["preset"] as? String, "tiny")
        XCTAssertEqual(json["device"] as? String, "reference")
        XCTAssertTrue(result.standardError.contains("warm-up 3/3"), result.standardError)
    }

    func testCommandNeedsExactlyOneShape() throws {
        let neither = try CommandRunner.run(["bench", "train"])
        XCTAssertNotEqual(neither.status, 0)
        XCTAssertTrue(neither.standardError.contains("exactly one of --preset and --config"), neither.standardError)
        let unknown = try CommandRunner.run(["bench", "train", "--preset", "huge"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.standardError.contains("unknown preset 'huge'"), unknown.standardError)
    }
}
