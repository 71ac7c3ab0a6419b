import Foundation
import TestSupport
import XCTest

/// `gputrain critique-revise` and `gputrain ai-label` end to end on a smoke-size tiny world, with
/// the world's judge and with a chat model as the feedback model, the soft labels they write
/// trained on by DPO, and bad constitutions and prompts named.
final class AIFeedbackCommandTests: XCTestCase {
    private var root: URL!
    private let constitution = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
            "configs/constitutions/tiny-world.yaml")

    override func setUpWithError() throws {
        root = try makeScratchFolder("ai-feedback-cli")
    }

    private var world: URL { root.appendingPathComponent("tiny/world") }

    /// The first `count` RL prompts of the world.
    private func prompts(_ count: Int) throws -> URL {
        let lines = try String(contentsOf: world.appendingPathComponent("rl_prompts.jsonl"), encoding: .utf8)
            .split(separator: "\n").prefix(count)
        return try writeFile(lines.joined(separator: "\n") + "\n", named: "prompts.jsonl", in: root)
    }

    private func objects(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func testTheLoopRunsWithTheJudgeAndWithAModel() throws {
        let model = try pretrainedTinyModel(in: root)
        let prompts = try prompts(12)
        let common = ["--model", model.path, "--prompts", prompts.path, "--constitution", constitution.path]

        let revisions = root.appendingPathComponent("revisions.jsonl")
        let revised = try CommandRunner.run(
            ["critique-revise"] + common + ["--judge", world.path, "--out", revisions.path, "--max-tokens", "8"])
        XCTAssertEqual(revised.status, 0, revised.standardError)
        XCTAssertTrue(revised.standardOutput.contains("judge score: originals"), revised.standardOutput)
        let records = try objects(revisions)
        XCTAssertEqual(records.count, 12)
        for record in records {
            for key in ["prompt", "completion", "original", "critique", "principle"] {
                XCTAssertNotNil(record[key], key)
            }
        }
        // The one-step model's answers are wrong: the judge revises them into the reference answers.
        XCTAssertTrue(records.contains { ($0["critique"] as? String).map { $0 != "Fine." } == true })

        let labels = root.appendingPathComponent("labels.jsonl")
        let labelled = try CommandRunner.run(
            ["ai-label"] + common + ["--judge", world.path, "--out", labels.path, "--max-tokens", "8"])
        XCTAssertEqual(labelled.status, 0, labelled.standardError)
        for record in try objects(labels) {
            let probability = try XCTUnwrap(record["chosen_probability"] as? Double)
            XCTAssertTrue((0.5...1).contains(probability), "\(probability)")
        }

        // The same loop with the model itself as the feedback model: critiques and revisions are
        // its replies, P(A) comes from its log-probabilities of "A" and "B".
        let modelLabels = root.appendingPathComponent("model-labels.jsonl")
        let byModel = try CommandRunner.run(
            ["ai-label"] + common + ["--feedback-model", model.path, "--out", modelLabels.path, "--max-tokens", "8"])
        XCTAssertEqual(byModel.status, 0, byModel.standardError)
        let soft = try objects(modelLabels)
        XCTAssertFalse(soft.isEmpty)
        XCTAssertTrue(soft.allSatisfy { (0.5...1).contains($0["chosen_probability"] as? Double ?? -1) })
        let modelRevisions = root.appendingPathComponent("model-revisions.jsonl")
        let revisedByModel = try CommandRunner.run(
            ["critique-revise"] + common + [
                "--feedback-model", model.path, "--out", modelRevisions.path, "--max-tokens", "8",
            ])
        XCTAssertEqual(revisedByModel.status, 0, revisedByModel.standardError)
        XCTAssertEqual(try objects(modelRevisions).count, 12)

        // DPO trains on the soft labels.
        let recipe = try writeFile(
            """
            model:\n  init_from: \(model.path)
            data:\n  path: \(modelLabels.path)\n  max_length: 96
            train:\n  steps: 1\n  batch_size: 2
            """, named: "dpo.yaml", in: root)
        let dpo = try CommandRunner.run([
            "dpo", "--config", recipe.path, "--out", root.appendingPathComponent("dpo").path,
        ])
        XCTAssertEqual(dpo.status, 0, dpo.standardError)
    }

    /// The judge teaches the three tasks, on pairs that name no entity of the held-out questions.
    func testFeedbackDataTeachesTheThreeTasksAwayFromTheHeldOutEntities() throws {
        _ = try pretrainedTinyModel(in: root)
        let out = root.appendingPathComponent("feedback.jsonl")
        let result = try CommandRunner.run([
            "data", "feedback", "--world", world.path, "--constitution", constitution.path, "--out", out.path,
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        let lines = try objects(out)
        XCTAssertEqual(Set(lines.compactMap { $0["task"] as? String }), ["critique", "revision", "comparison"])
        let heldOut = try objects(world.appendingPathComponent("eval_questions.jsonl")).compactMap {
            $0["subject"] as? String
        }
        for line in lines {
            let text = String(decoding: try JSONSerialization.data(withJSONObject: line["prompt"]!), as: UTF8.self)
            XCTAssertNil(heldOut.first { text.contains($0) }, text)
        }
        for line in lines where line["task"] as? String == "comparison" {
            let answer = try XCTUnwrap((line["completion"] as? [[String: String]])?.first?["content"])
            XCTAssertTrue(["A", "B"].contains(answer), answer)
        }
    }

    func testBadConstitutionsPromptsAndOutputsAreNamed() throws {
        let prompts = try writeFile(#"{"prompt": "Hi?"}"# + "\n", named: "prompts.jsonl", in: root)
        let lacking = try writeFile(
            """
            principles:
              - name: concise
                critique_request: Is it long?
                comparison_question: Which is shorter?
            """, named: "lacking.yaml", in: root)
        let out = root.appendingPathComponent("out.jsonl")
        func run(_ constitution: URL, prompts: URL, _ extra: [String] = []) throws -> CommandRunner.Result {
            try CommandRunner.run(
                [
                    "critique-revise", "--model", root.appendingPathComponent("no-model").path, "--prompts",
                    prompts.path, "--constitution", constitution.path, "--judge", root.path, "--out", out.path,
                ] + extra)
        }
        let noRevision = try run(lacking, prompts: prompts)
        XCTAssertNotEqual(noRevision.status, 0)
        XCTAssertTrue(
            noRevision.standardError.contains("lacking.yaml:2")
                && noRevision.standardError.contains("revision_request"),
            noRevision.standardError)

        let emptyPrompt = try writeFile(#"{"prompt": ""}"# + "\n", named: "empty.jsonl", in: root)
        let empty = try run(constitution, prompts: emptyPrompt)
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(
            empty.standardError.contains("empty.jsonl:1") && empty.standardError.contains("empty string"),
            empty.standardError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))

        try Data("mine\n".utf8).write(to: out)
        let exists = try run(constitution, prompts: prompts)
        XCTAssertNotEqual(exists.status, 0)
        XCTAssertTrue(exists.standardError.contains("--overwrite"), exists.standardError)
        XCTAssertEqual(try String(contentsOf: out, encoding: .utf8), "mine\n")
    }
}
