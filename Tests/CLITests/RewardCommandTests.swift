import Foundation
import TestSupport
import XCTest

/// `gputrain reward` and `gputrain score` as a user runs them: a smoke tiny world, a one-step
/// base model, a two-step reward model, then scores as text and JSON lines, and bad input.
final class RewardCommandTests: XCTestCase {
    private static var root: URL!
    private static var rewardModel: URL!
    private static var baseModel: URL!
    private static var setupError: Error?

    /// Builds the models once for every test of the class (the smoke world takes seconds).
    override class func setUp() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("reward-cli-\(getpid())")
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let world = root.appendingPathComponent("world")
            let pretrain = try SmokeRecipe.pretrain(
                in: root, world: world, steps: 1, maxPositions: 96, dataLines: ["probes: ''"])
            try succeed(["pretrain", "--config", pretrain.path, "--out", root.appendingPathComponent("base").path])
            baseModel = root.appendingPathComponent("base/final")
            let reward = try write(
                """
                model:\n  init_from: \(baseModel.path)
                data:\n  path: \(world.appendingPathComponent("world/preferences.jsonl").path)\n  max_length: 96\n  heldout_fraction: 0.1
                train:\n  steps: 2\n  batch_size: 2\n  eval_every: 2
                """, "reward.yaml")
            try succeed(["reward", "--config", reward.path, "--out", root.appendingPathComponent("reward").path])
            rewardModel = root.appendingPathComponent("reward/final")
        } catch {
            setupError = error
        }
    }

    override class func tearDown() { try? FileManager.default.removeItem(at: root) }

    override func setUpWithError() throws {
        if let error = Self.setupError { throw error }
    }

    private static func write(_ text: String, _ name: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    private static func succeed(_ arguments: [String]) throws {
        let result = try CommandRunner.run(arguments)
        guard result.status == 0 else {
            throw NSError(
                domain: "gputrain", code: Int(result.status),
                userInfo: [NSLocalizedDescriptionKey: "\(arguments) failed: \(result.standardError)"])
        }
    }

    private func score(_ data: URL, model: URL? = nil, json: Bool = false) throws -> CommandRunner.Result {
        try CommandRunner.run(
            ["score", "--model", (model ?? Self.rewardModel).path, "--data", data.path, "--device", "reference"]
                + (json ? ["--json"] : []))
    }

    func testRewardRunWritesAModelAndItsReport() throws {
        let report =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: Self.root.appendingPathComponent("reward/reward_report.json"))) as? [String: Any]
        XCTAssertNotNil(report?["heldout_accuracy"] as? Double)
        XCTAssertNotNil(report?["train_accuracy"] as? Double)
        XCTAssertGreaterThan(report?["heldout_pairs"] as? Int ?? 0, 0)
        XCTAssertFalse((report?["heldout_accuracy_by_kind"] as? [String: Double] ?? [:]).isEmpty)
        let config = try String(contentsOf: Self.rewardModel.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("ForSequenceClassification\""), config)
        XCTAssertTrue(config.contains("\"LABEL_0\""), config)
    }

    func testScorePrintsOneJSONObjectPerExample() throws {
        let data = try Self.write(
            """
            {"prompt": "What is 2 + 3?", "completion": "5", "id": 7}

            {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
            {"prompt": [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Where?"}], "completion": [{"role": "assistant", "content": "Here"}]}
            """, "chats.jsonl")
        let result = try score(data, json: true)
        XCTAssertEqual(result.status, 0, result.standardError)
        let lines = result.standardOutput.split(separator: "\n")
        guard lines.count == 3 else { return XCTFail("expected 3 lines, got \(result.standardOutput)") }
        let objects = try lines.map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(objects[0]["id"] as? Int, 7)
        XCTAssertEqual(objects[0]["completion"] as? String, "5")
        XCTAssertNotNil(objects[1]["messages"])
        for object in objects { XCTAssertNotNil(object["score"] as? Double, "\(object)") }

        let text = try score(data)
        XCTAssertEqual(text.status, 0, text.standardError)
        let plain = text.standardOutput.split(separator: "\n")
        guard plain.count == 3 else { return XCTFail("expected 3 lines, got \(text.standardOutput)") }
        XCTAssertTrue(plain[0].hasSuffix("\t5"), String(plain[0]))
        XCTAssertEqual(Double(plain[0].split(separator: "\t")[0])!, objects[0]["score"] as! Double, accuracy: 1e-5)
    }

    func testBadInputIsAClearError() throws {
        let good = try Self.write(#"{"prompt": "Hi", "completion": "Hello"}"#, "good.jsonl")
        let missing = try score(Self.root.appendingPathComponent("nowhere.jsonl"))
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.standardError.contains("nowhere.jsonl"), missing.standardError)

        let malformed = try Self.write(
            #"{"prompt": "Hi", "completion": "Hello"}"# + "\n{\"prompt\": \"Hi\"\n", "malformed.jsonl")
        let broken = try score(malformed)
        XCTAssertNotEqual(broken.status, 0)
        XCTAssertTrue(broken.standardError.contains("malformed.jsonl:2"), broken.standardError)

        let open = try Self.write(
            #"{"messages": [{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Bye"}]}"#, "open.jsonl"
        )
        let unanswered = try score(open)
        XCTAssertNotEqual(unanswered.status, 0)
        XCTAssertTrue(unanswered.standardError.contains("open.jsonl:1"), unanswered.standardError)
        XCTAssertTrue(
            unanswered.standardError.contains("should end with the assistant answer"), unanswered.standardError)

        let languageModel = try score(good, model: Self.baseModel)
        XCTAssertNotEqual(languageModel.status, 0)
        XCTAssertTrue(languageModel.standardError.contains("not a reward model"), languageModel.standardError)
        XCTAssertTrue(languageModel.standardError.contains("has no score.weight"), languageModel.standardError)

        let noRejected = try Self.write(#"{"prompt": "Hi", "chosen": "Hello"}"#, "pairs.jsonl")
        let recipe = try Self.write(
            "model:\n  init_from: \(Self.baseModel.path)\ndata:\n  path: \(noRejected.path)\n", "bad-reward.yaml")
        let stage = try CommandRunner.run([
            "reward", "--config", recipe.path, "--out", Self.root.appendingPathComponent("bad").path,
        ])
        XCTAssertNotEqual(stage.status, 0)
        XCTAssertTrue(stage.standardError.contains("pairs.jsonl:1"), stage.standardError)
        XCTAssertTrue(stage.standardError.contains("missing \"rejected\""), stage.standardError)
    }
}
