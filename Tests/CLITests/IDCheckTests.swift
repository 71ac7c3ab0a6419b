import Foundation
import TestSupport
import XCTest

/// Token ids and positions are checked where data and tokenizers meet a model, so an id
/// without an embedding row is an error naming the file, never a plausible loss.
final class IDCheckTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("id-checks")
    }

    private func pretrainRecipe() throws -> URL {
        try SmokeRecipe.pretrain(in: root, world: root.appendingPathComponent("world"), steps: 2)
    }

    func testAShardIdOutsideTheVocabularyStopsTheStepThatReadsIt() throws {
        let recipe = try pretrainRecipe()
        let first = try CommandRunner.run(["pretrain", "--config", recipe.path, "--out", root.path + "/first"])
        XCTAssertEqual(first.status, 0, first.standardError)
        // Damage every training token after the shards were prepared (their meta still says 300).
        let tokens = root.appendingPathComponent("world/tokens")
        for name in try FileManager.default.contentsOfDirectory(atPath: tokens.path) where name.hasPrefix("train") {
            let url = tokens.appendingPathComponent(name)
            var data = try Data(contentsOf: url)
            for offset in stride(from: 32, to: data.count, by: 2) { data[offset + 1] = 0xFF }
            try data.write(to: url)
        }
        let damaged = try CommandRunner.run(["pretrain", "--config", recipe.path, "--out", root.path + "/damaged"])
        XCTAssertNotEqual(damaged.status, 0)
        XCTAssertTrue(damaged.standardError.contains("step 1 reads token id"), damaged.standardError)
        XCTAssertTrue(damaged.standardError.contains("outside the model's vocabulary of 300"), damaged.standardError)
    }

    func testASequenceLongerThanTheStartingModelsPositionsIsRefused() throws {
        let model = HuggingFaceFixtures.folder("gpt2-tiny")
        let recipe = try pretrainRecipe()
        let result = try CommandRunner.run([
            "pretrain", "--config", recipe.path, "--out", root.path + "/long", "--set", "model.init_from=\(model.path)",
            "--set", "train.sequence_length=200", "--set", "data.vocab_size=300",
        ])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(
            result.standardError.contains("'train.sequence_length' must be at most the model's 128 positions, got 200"),
            result.standardError)
    }

    func testATokenizerLargerThanTheModelsVocabularyIsRefused() throws {
        let folder = root.appendingPathComponent("model")
        try FileManager.default.copyItem(at: HuggingFaceFixtures.folder("gpt2-tiny"), to: folder)
        let configURL = folder.appendingPathComponent("config.json")
        var config = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["vocab_size"] = 100
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let result = try CommandRunner.run(["generate", "--model", folder.path, "--prompt", "hi", "--chat"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("tokenizer.json: has ids up to"), result.standardError)
        XCTAssertTrue(result.standardError.contains("vocab_size 100"), result.standardError)
    }
}
