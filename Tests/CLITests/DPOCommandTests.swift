import Foundation
import TestSupport
import XCTest

/// `gputrain dpo` as a user runs it: from a (one-step) pretrained tiny-world model on the tiny
/// world's preference pairs, with the reference log-probs cached under run.out and reused,
/// and bad recipes rejected with the key and file named.
final class DPOCommandTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("dpo-cli")
    }

    private func write(_ text: String, _ name: String) throws -> URL { try writeFile(text, named: name, in: root) }

    private var preferences: URL { root.appendingPathComponent("tiny/world/preferences.jsonl") }

    private func recipe(model: URL, data: URL, extra: String = "") throws -> URL {
        try recipe(initFrom: model.path, data: data, extra: extra)
    }

    private func recipe(initFrom: String, data: URL, extra: String = "") throws -> URL {
        try write(
            """
            model:\n  init_from: \(initFrom)
            data:\n  path: \(data.path)\n  max_length: 96
            train:\n  steps: 2\n  batch_size: 2\n  eval_every: 2
            \(extra)
            """, "dpo.yaml")
    }

    func testTrainsAndReusesTheReferenceCache() throws {
        let model = try pretrainedTinyModel(in: root)
        let recipe = try recipe(model: model, data: preferences)
        let first = try CommandRunner.run([
            "dpo", "--config", recipe.path, "--set", "run.out=\(root.path)", "--set", "run.name=run1", "--json",
        ])
        XCTAssertEqual(first.status, 0, first.standardError)
        let events = try first.standardOutput.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let steps = events.filter { $0["event"] as? String == "step" }
        XCTAssertEqual(steps.count, 2)
        for key in [
            "loss", "val_loss", "rewards/accuracies", "rewards/margins", "eval/rewards/accuracies",
            "eval/rewards/margins",
        ] {
            XCTAssertNotNil(steps.last?[key], key)
        }
        let notes = events.compactMap { $0["message"] as? String }
        XCTAssertTrue(notes.contains { $0.hasPrefix("reference log-probs: computed") }, "\(notes)")
        for file in ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"] {
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: root.appendingPathComponent("run1/final/\(file)").path), file)
        }

        let second = try CommandRunner.run([
            "dpo", "--config", recipe.path, "--set", "run.out=\(root.path)", "--set", "run.name=run2",
            "--set", "train.steps=1",
        ])
        XCTAssertEqual(second.status, 0, second.standardError)
        XCTAssertTrue(second.standardError.contains("reference log-probs: reused"), second.standardError)
    }

    func testBadRecipesAndDataAreNamed() throws {
        let data = try write(
            #"{"prompt": "Hi?", "chosen": "Hello.", "rejected": "Go away."}"# + "\n"
                + #"{"prompt": "Hi?", "chosen": "Hello."}"# + "\n", "pairs.jsonl")
        let missingModel = root.appendingPathComponent("no-model")
        func failure(_ recipe: URL) throws -> String {
            let result = try CommandRunner.run([
                "dpo", "--config", recipe.path, "--out", root.appendingPathComponent("run-\(UUID())").path,
            ])
            XCTAssertNotEqual(result.status, 0)
            return result.standardError
        }
        let unknownLoss = try failure(recipe(model: missingModel, data: data, extra: "loss:\n  type: dop"))
        XCTAssertTrue(
            unknownLoss.contains("'loss.type'")
                && unknownLoss.contains("sigmoid, conservative, robust, ipo, hinge, simpo, orpo, kto"), unknownLoss)
        let typo = try failure(recipe(model: missingModel, data: data, extra: "loss:\n  bta: 0.2"))
        XCTAssertTrue(
            typo.contains("dpo.yaml:11") && typo.contains("unknown key 'loss.bta'")
                && typo.contains("did you mean 'beta'?"), typo)
        let noModel = try failure(recipe(model: missingModel, data: data))
        XCTAssertTrue(noModel.contains("'model.init_from'") && noModel.contains("no-model"), noModel)
        let noInit = try failure(recipe(initFrom: "''", data: data))
        XCTAssertTrue(noInit.contains("'model.init_from' is empty"), noInit)
    }
}
