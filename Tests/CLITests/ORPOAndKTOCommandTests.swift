import Foundation
import TestSupport
import XCTest

/// Writes TRL unpaired preference data (KTO's) from preference pairs: each pair's chosen
/// completion as a desirable line and its rejected one as an undesirable line.
func writeUnpairedData(from preferences: URL, to url: URL) throws {
    var lines: [String] = []
    for line in try String(contentsOf: preferences, encoding: .utf8).split(separator: "\n") {
        let pair = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        for (key, label) in [("chosen", true), ("rejected", false)] {
            let object: [String: Any] = ["prompt": pair["prompt"]!, "completion": pair[key]!, "label": label]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        }
    }
    try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
}

/// `gputrain orpo` and `gputrain kto` as a user runs them, from a (one-step) pretrained tiny-world
/// model, with TRL's metric names, and soft labels in DPO; bad recipes and data named.
final class ORPOAndKTOCommandTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("orpo-kto-cli")
    }

    private var preferences: URL { root.appendingPathComponent("tiny/world/preferences.jsonl") }

    private func recipe(model: URL, data: URL, extra: String = "") throws -> URL {
        try writeFile(
            """
            model:\n  init_from: \(model.path)
            data:\n  path: \(data.path)\n  max_length: 96
            train:\n  steps: 2\n  batch_size: 2\n  eval_every: 2
            \(extra)
            """, named: "recipe.yaml", in: root)
    }

    /// The step events of a `--json` run.
    private func steps(_ output: String) throws -> [[String: Any]] {
        try output.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }.filter { $0["event"] as? String == "step" }
    }

    func testORPOAndKTOTrainWithTRLsMetrics() throws {
        let model = try pretrainedTinyModel(in: root)
        let orpo = try CommandRunner.run([
            "orpo", "--config", recipe(model: model, data: preferences).path, "--out",
            root.appendingPathComponent("orpo").path, "--json",
        ])
        XCTAssertEqual(orpo.status, 0, orpo.standardError)
        XCTAssertTrue(orpo.standardOutput.contains("orpo: no reference model"), orpo.standardOutput)
        let orpoSteps = try steps(orpo.standardOutput)
        XCTAssertEqual(orpoSteps.count, 2)
        for key in ["loss", "nll_loss", "log_odds_ratio", "log_odds_chosen", "rewards/accuracies", "eval/nll_loss"] {
            XCTAssertNotNil(orpoSteps.last?[key], key)
        }

        let unpaired = root.appendingPathComponent("kto.jsonl")
        try writeUnpairedData(from: preferences, to: unpaired)
        let kto = try CommandRunner.run([
            "kto", "--config", recipe(model: model, data: unpaired, extra: "lora:\n  r: 4\n  alpha: 8").path,
            "--out", root.appendingPathComponent("kto").path, "--json",
        ])
        XCTAssertEqual(kto.status, 0, kto.standardError)
        let ktoSteps = try steps(kto.standardOutput)
        XCTAssertEqual(ktoSteps.count, 2)
        // A batch of two may hold only desirable or only undesirable completions; the held-out set has both.
        for key in ["loss", "kl", "eval/kl", "eval/rewards/chosen", "eval/rewards/rejected", "eval/logps/chosen"] {
            XCTAssertNotNil(ktoSteps.last?[key], key)
        }
        XCTAssertTrue(
            FileManager.default.fileExists(
                atPath: root.appendingPathComponent("kto/final/adapter_model.safetensors").path))

        // Soft labels train DPO; the hinge loss refuses them before any step.
        let soft = root.appendingPathComponent("soft.jsonl")
        let softLines = try String(contentsOf: preferences, encoding: .utf8).split(separator: "\n").map {
            $0.dropLast() + #", "chosen_probability": 0.8}"#
        }
        try (softLines.joined(separator: "\n") + "\n").write(to: soft, atomically: true, encoding: .utf8)
        let dpo = try CommandRunner.run([
            "dpo", "--config", recipe(model: model, data: soft).path, "--out", root.appendingPathComponent("soft").path,
        ])
        XCTAssertEqual(dpo.status, 0, dpo.standardError)
        let hinge = try CommandRunner.run([
            "dpo", "--config", recipe(model: model, data: soft, extra: "loss:\n  type: hinge").path,
            "--out", root.appendingPathComponent("hinge").path,
        ])
        XCTAssertNotEqual(hinge.status, 0)
        XCTAssertTrue(
            hinge.standardError.contains("need loss.type sigmoid or conservative"), hinge.standardError)
    }

    func testBadORPOAndKTORecipesAreNamed() throws {
        let model = root.appendingPathComponent("no-model")
        let pairs = try writeFile(
            #"{"prompt": "Hi?", "chosen": "Hello.", "rejected": "Go away.", "chosen_probability": -0.5}"# + "\n",
            named: "pairs.jsonl", in: root)
        let cases: [([String], String)] = [
            (["orpo", "--set", "loss.rpo_alpha=1"], "loss.rpo_alpha"),
            (["kto", "--set", "train.batch_size=1"], "train.batch_size"),
            (["kto", "--set", "loss.desirable_weight=0"], "loss.desirable_weight"),
            (["kto", "--set", "reference.mode=none"], "reference.mode"),
        ]
        for (arguments, key) in cases {
            let recipe = try recipe(model: model, data: pairs)
            let result = try CommandRunner.run(
                [arguments[0], "--config", recipe.path, "--out", root.appendingPathComponent("bad").path]
                    + arguments.dropFirst())
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.standardError.contains(key), "\(arguments): \(result.standardError)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("bad").path))
        }
    }
}
