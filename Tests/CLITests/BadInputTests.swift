import Foundation
import TestSupport
import XCTest

/// Bad input gets a clear error naming the file or key, a non-zero exit, and no damage.
final class BadInputTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("bad-input")
    }

    private func write(_ text: String, _ name: String) throws -> URL { try writeFile(text, named: name, in: root) }

    private func expectFailure(_ arguments: [String], mentions fragments: [String]) throws {
        let result = try CommandRunner.run(arguments)
        XCTAssertNotEqual(result.status, 0, "\(arguments) should fail")
        for fragment in fragments {
            XCTAssertTrue(
                result.standardError.contains(fragment), "\(arguments): '\(fragment)' not in: \(result.standardError)")
        }
    }

    func testMalformedConfigNamesFileKeyAndType() throws {
        let config = try write("train:\n  steps: lots\n", "bad.yaml")
        try expectFailure(
            ["pretrain", "--config", config.path, "--out", root.appendingPathComponent("run").path],
            mentions: ["bad.yaml:2", "'train.steps' must be an integer"])
        let typo = try write("optim:\n  learning_rat: 0.1\n", "typo.yaml")
        try expectFailure(
            ["pretrain", "--config", typo.path, "--out", root.appendingPathComponent("run").path],
            mentions: ["unknown key 'optim.learning_rat'", "did you mean 'learning_rate'?"])
    }

    /// A kernel variant that does not exist is refused where it was given (option, recipe key
    /// with its line, environment), naming the valid ones, before any device work.
    func testAnUnknownKernelVariantNamesWhereItCameFrom() throws {
        let run = root.appendingPathComponent("run").path
        try expectFailure(
            ["pretrain", "--config", "tiny-world-pretrain", "--out", run, "--kernels", "fast"],
            mentions: ["'fast' is invalid for '--kernels <kernels>'", "'auto', 'cpu' or 'gpu'"])
        let recipe = try write("# a recipe\nkernels: fast\n", "kernels.yaml")
        try expectFailure(
            ["pretrain", "--config", recipe.path, "--out", run],
            mentions: ["kernels.yaml:2", "'kernels' must be auto, cpu or gpu, or empty, got 'fast'"])
        let result = try CommandRunner.run(
            ["pretrain", "--config", "tiny-world-pretrain", "--out", run], environment: ["GPUTRAIN_KERNELS": "fast"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(
            result.standardError.contains("GPUTRAIN_KERNELS: 'fast' is not a kernel variant; choose auto, cpu or gpu"),
            result.standardError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run), "refused before the run folder was made")
    }

    /// A file given as a recipe that is not one (a password file, a binary) is refused by
    /// position and problem, without quoting a byte of it.
    func testANonRecipeFileIsRefusedWithoutQuotingIt() throws {
        let secret = "s3cr3t-hash-value"
        let cases = [
            "root:$6$\(secret):19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
            "key: [\(secret)\n  other: \"x\n", "\(secret)\n",
        ]
        for (index, text) in cases.enumerated() {
            let file = try write(text, "not-a-recipe-\(index)")
            let result = try CommandRunner.run(["pretrain", "--config", file.path, "--out", root.path + "/r\(index)"])
            XCTAssertNotEqual(result.status, 0, text)
            XCTAssertTrue(result.standardError.contains(file.path), result.standardError)
            XCTAssertFalse(result.standardError.contains(secret), "quoted the file: \(result.standardError)")
        }
    }

    /// A huge value in a file is shortened in the error, which is printed whole.
    func testAHugeValueIsShortenedInTheError() throws {
        let folder = root.appendingPathComponent("huge")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let huge = String(repeating: "x", count: 200_000)
        _ = try write(#"{"model_type": "gpt2", "activation_function": "\#(huge)"}"#, "huge/config.json")
        try FileManager.default.copyItem(
            at: HuggingFaceFixtures.folder("gpt2-tiny").appendingPathComponent("tokenizer.json"),
            to: folder.appendingPathComponent("tokenizer.json"))
        let result = try CommandRunner.run(["generate", "--model", folder.path, "--prompt", "hi"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("activation_function"), result.standardError)
        XCTAssertLessThan(result.standardError.count, 3000)
    }

    func testMissingOrTruncatedShardIsNamed() throws {
        let data = root.appendingPathComponent("data")
        let result = try CommandRunner.run([
            "data", "tiny-world", "--out", root.appendingPathComponent("world").path, "--size", "smoke",
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        let tokenizer = root.appendingPathComponent("tokenizer.json").path
        let corpus = root.appendingPathComponent("world/pretrain.jsonl").path
        XCTAssertEqual(
            try CommandRunner.run(["tokenizer", "train", "--input", corpus, "--vocab-size", "300", "--out", tokenizer])
                .status, 0)
        XCTAssertEqual(
            try CommandRunner.run(["data", "prepare", "--tokenizer", tokenizer, "--input", corpus, "--out", data.path])
                .status, 0)
        let config = try write("data:\n  shards: \(data.path)\n  probes: ''\ntrain:\n  steps: 1\n", "recipe.yaml")
        let shard = data.appendingPathComponent("train-00000.bin")
        let bytes = try Data(contentsOf: shard)
        try bytes.prefix(bytes.count - 2).write(to: shard)
        try expectFailure(
            ["pretrain", "--config", config.path, "--out", root.appendingPathComponent("run").path],
            mentions: ["train-00000.bin", "truncated"])
        try FileManager.default.removeItem(at: shard)
        try expectFailure(
            ["pretrain", "--config", config.path, "--out", root.appendingPathComponent("run2").path],
            mentions: ["train-00000.bin", "missing"])
    }

    func testUnsupportedTokenizerModelIsNamed() throws {
        let tokenizer = try write(
            """
            {"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "post_processor": null,
             "decoder": null, "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0}}}
            """, "tokenizer.json")
        try expectFailure(
            ["tokenize", "--tokenizer", tokenizer.path, "--text", "hi"], mentions: ["tokenizer.json", "WordPiece"])
    }

    func testCorruptCheckpointIsAnErrorAndNothingIsOverwritten() throws {
        // A one-step run leaves a checkpoint; damage it and ask to resume a longer run.
        let world = root.appendingPathComponent("tiny")
        let recipe = try SmokeRecipe.pretrain(in: root, named: "tiny.yaml", world: world, steps: 1)
        let run = root.appendingPathComponent("run")
        let first = try CommandRunner.run(["pretrain", "--config", recipe.path, "--out", run.path])
        XCTAssertEqual(first.status, 0, first.standardError)
        let weights = run.appendingPathComponent("checkpoints/step-1/model.safetensors")
        var damaged = try Data(contentsOf: weights)
        damaged.removeLast(10)
        try damaged.write(to: weights)
        let finalBefore = try Data(contentsOf: run.appendingPathComponent("final/model.safetensors"))
        try expectFailure(
            ["pretrain", "--config", recipe.path, "--out", run.path, "--resume", "--set", "train.steps=2"],
            mentions: ["model.safetensors"])
        XCTAssertEqual(
            try Data(contentsOf: run.appendingPathComponent("final/model.safetensors")), finalBefore,
            "nothing overwritten")
        try expectFailure(
            ["pretrain", "--config", recipe.path, "--out", run.path], mentions: ["--resume", "--overwrite"])
    }
}

/// `gputrain pretrain --json` prints one parseable JSON object per event.
final class PretrainCommandTests: XCTestCase {
    func testJSONEventsParse() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("pretrain-json-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let recipe = try SmokeRecipe.pretrain(
            in: root, named: "tiny.yaml", world: root.appendingPathComponent("world"), steps: 2, evalEvery: 2)
        let result = try CommandRunner.run([
            "pretrain", "--config", recipe.path, "--out", root.appendingPathComponent("run").path, "--json",
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        let events = try result.standardOutput.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(events.first { $0["event"] as? String != "note" }?["event"] as? String, "started")
        XCTAssertEqual(events.filter { $0["event"] as? String == "step" }.count, 2)
        let step = try XCTUnwrap(events.last { $0["event"] as? String == "step" })
        for key in ["step", "loss", "lr", "grad_norm", "tokens_per_s", "val_loss"] { XCTAssertNotNil(step[key], key) }
        XCTAssertEqual(events.last?["event"] as? String, "finished")
        let report =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: root.appendingPathComponent("run/pretrain_report.json"))) as? [String: Any]
        XCTAssertNotNil(report?["bigram_validation_loss"])
        XCTAssertNotNil(report?["knowledge_probe"])
    }
}
