import Foundation
import TestSupport
import XCTest

/// `gputrain generate` as a user runs it, on the tiny fixture models.
final class GenerateCommandTests: XCTestCase {
    private func generate(_ model: String, _ arguments: [String]) throws -> CommandRunner.Result {
        try CommandRunner.run(
            ["generate", "--model", HuggingFaceFixtures.folder(model).path, "--device", "reference"] + arguments)
    }

    func testPrintsThePromptThenItsContinuation() throws {
        for model in ["gpt2-tiny", "llama-tiny"] {
            let result = try generate(
                model, ["--prompt", "The quick brown", "--max-tokens", "6", "--temperature", "0"])
            XCTAssertEqual(result.status, 0, result.standardError)
            XCTAssertTrue(result.standardOutput.hasPrefix("The quick brown"), result.standardOutput)
            XCTAssertGreaterThan(result.standardOutput.count, "The quick brown\n".count, "\(model) adds text")
            XCTAssertTrue(result.standardError.contains("6 tokens in"), result.standardError)
            XCTAssertEqual(
                try generate(model, ["--prompt", "The quick brown", "--max-tokens", "6", "--temperature", "0"])
                    .standardOutput,
                result.standardOutput, "greedy is deterministic")
        }
    }

    func testSamplingFollowsTheSeed() throws {
        func sample(_ seed: Int) throws -> String {
            let result = try generate(
                "llama-tiny",
                [
                    "--prompt", "Hello", "--max-tokens", "12", "--top-k", "40", "--top-p", "0.95",
                    "--repetition-penalty", "1.2", "--seed", String(seed),
                ])
            XCTAssertEqual(result.status, 0, result.standardError)
            return result.standardOutput
        }
        let first = try sample(1)
        XCTAssertEqual(try sample(1), first)
        XCTAssertNotEqual(try sample(2), first)
    }

    func testNoNewTokensPrintsThePromptAlone() throws {
        let result = try generate("gpt2-tiny", ["--prompt", "naïve café", "--max-tokens", "0"])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(result.standardOutput, "naïve café\n")
    }

    func testBadSettingsAreClearErrors() throws {
        let result = try generate("gpt2-tiny", ["--prompt", "x", "--top-p", "1.5"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("top-p 1.5 must be in (0, 1]"), result.standardError)
    }
}

/// `gputrain generate --data`: a JSONL file of prompts answered into another, batched, resumable
/// after a kill, the same whatever the batch size, refusing what it should.
final class GenerateDataCommandTests: XCTestCase {
    private var root: URL!
    private let model = HuggingFaceFixtures.folder("llama-tiny")

    override func setUpWithError() throws {
        root = try makeScratchFolder("generate-data")
    }

    /// `count` prompts: strings, and every third a message list, with other keys on the line.
    private func prompts(_ count: Int, named name: String = "prompts.jsonl") throws -> URL {
        let lines = (0..<count).map { index in
            index % 3 == 0
                ? #"{"id": \#(index), "prompt": [{"role": "user", "content": "Where is item \#(index)?"}]}"#
                : #"{"prompt": "Story \#(index): once upon a time", "source": "test"}"#
        }
        return try writeFile(lines.joined(separator: "\n") + "\n", named: name, in: root)
    }

    /// The arguments of `gputrain generate --data` on `device`, six new tokens at most.
    private func arguments(_ data: URL, _ out: URL, _ extra: [String] = [], device: [String]) -> [String] {
        ["generate", "--model", model.path, "--data", data.path, "--out", out.path, "--max-tokens", "6"] + device
            + extra
    }

    /// Runs `gputrain generate --data` on the reference device (slow enough to be killed in the
    /// middle, and exact), or with `device: []` on the default one.
    private func generate(
        _ data: URL, _ out: URL, _ extra: [String] = [], device: [String] = ["--device", "reference"]
    )
        throws -> CommandRunner.Result
    {
        try CommandRunner.run(arguments(data, out, extra, device: device))
    }

    /// The lines of `url` as objects.
    private func lines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
        }
    }

    /// Checks that `url` holds each (index, sample) once, in order.
    private func checkEachRowOnce(_ url: URL, prompts: Int, samples: Int = 1) throws {
        let rows = try lines(url).map { [$0["index"] as? Int ?? -1, $0["sample"] as? Int ?? -1] }
        XCTAssertEqual(rows, (0..<(prompts * samples)).map { [$0 / samples, $0 % samples] })
    }

    private func sidecar(_ out: URL) -> URL {
        out.deletingLastPathComponent().appendingPathComponent(out.lastPathComponent + ".meta.json")
    }

    func testAKilledRunResumesToTheUninterruptedFile() throws {
        let data = try prompts(200)
        let greedy = ["--temperature", "0", "--batch-size", "8"]
        let straight = root.appendingPathComponent("straight.jsonl")
        let first = try generate(data, straight, greedy)
        XCTAssertEqual(first.status, 0, first.standardError)
        XCTAssertTrue(first.standardError.contains("batch 25/25  200/200 answers"), first.standardError)
        XCTAssertTrue(first.standardError.contains("done: 200 answers"), first.standardError)
        try checkEachRowOnce(straight, prompts: 200)

        // Kill -9 once a few batches are written.
        let killed = root.appendingPathComponent("killed.jsonl")
        let process = Process()
        process.executableURL = CommandRunner.executable
        process.arguments = arguments(data, killed, greedy, device: ["--device", "reference"])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline,
            (FileManager.default.contents(atPath: killed.path)?.filter { $0 == 0x0A }.count ?? 0) < 40
        {
            Thread.sleep(forTimeInterval: 0.005)
        }
        XCTAssertTrue(process.isRunning, "the kill lands before the run ends")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let written = try Data(contentsOf: killed)
        XCTAssertLessThan(written.filter { $0 == 0x0A }.count, 200)

        let resumed = try generate(data, killed, greedy)
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        XCTAssertTrue(resumed.standardError.contains("resuming \(killed.path) at batch"), resumed.standardError)
        try checkEachRowOnce(killed, prompts: 200)
        XCTAssertEqual(try Data(contentsOf: killed), try Data(contentsOf: straight), "byte for byte")
    }

    func testACutLineAndAnUnfinishedBatchAreGeneratedAgain() throws {
        let data = try prompts(30)
        let options = ["--batch-size", "4", "--n", "2", "--seed", "3"]
        let full = root.appendingPathComponent("full.jsonl")
        XCTAssertEqual(try generate(data, full, options).status, 0)
        let complete = try Data(contentsOf: full)
        let lineEnds = complete.indices.filter { complete[$0] == 0x0A }
        XCTAssertEqual(lineEnds.count, 60)

        // 3 whole batches (12 lines), 2 lines of the fourth and half of its third line.
        let cut = root.appendingPathComponent("cut.jsonl")
        try FileManager.default.copyItem(at: sidecar(full), to: sidecar(cut))
        try complete.prefix((lineEnds[13] + lineEnds[14]) / 2).write(to: cut)
        let resumed = try generate(data, cut, options)
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        XCTAssertTrue(
            resumed.standardError.contains("at batch 4/15: 12 answers kept, 3 lines of an unfinished batch cut"),
            resumed.standardError)
        XCTAssertEqual(try Data(contentsOf: cut), complete)

        // A whole last line that is not what gputrain writes is cut too, also at a batch boundary.
        try (complete.prefix(lineEnds[7] + 1) + Data("{\"index\": 9\n".utf8)).write(to: cut)
        let again = try generate(data, cut, options)
        XCTAssertEqual(again.status, 0, again.standardError)
        XCTAssertTrue(again.standardError.contains("8 answers kept, 1 line of"), again.standardError)
        XCTAssertEqual(try Data(contentsOf: cut), complete)

        // A finished file is left as it is.
        let done = try generate(data, cut, options)
        XCTAssertEqual(done.status, 0, done.standardError)
        XCTAssertTrue(done.standardError.contains("already holds all 60 answers"), done.standardError)
        XCTAssertEqual(try Data(contentsOf: cut), complete)
    }

    /// On the OpenCL device, whose kernels see other shapes with other batch sizes.
    func testSampledAnswersDoNotDependOnTheBatchSize() throws {
        let data = try prompts(30)
        func sample(batchSize: Int, seed: Int) throws -> Data {
            let out = root.appendingPathComponent("b\(batchSize)-s\(seed).jsonl")
            let result = try generate(
                data, out, ["--n", "3", "--top-p", "0.95", "--seed", String(seed), "--batch-size", String(batchSize)],
                device: [])
            XCTAssertEqual(result.status, 0, result.standardError)
            return try Data(contentsOf: out)
        }
        let five = try sample(batchSize: 5, seed: 9)
        XCTAssertEqual(try sample(batchSize: 16, seed: 9), five)
        XCTAssertNotEqual(try sample(batchSize: 5, seed: 10), five)
        let completions = try lines(root.appendingPathComponent("b5-s9.jsonl")).map { "\($0["completion"]!)" }
        XCTAssertTrue(
            stride(from: 0, to: completions.count, by: 3).contains { Set(completions[$0..<($0 + 3)]).count > 1 },
            "the samples of a prompt differ")
    }

    func testOtherSettingsAreRefusedAndOverwriteStartsAgain() throws {
        let data = try prompts(6)
        let out = root.appendingPathComponent("answers.jsonl")
        XCTAssertEqual(try generate(data, out, ["--batch-size", "4"]).status, 0)
        let written = try Data(contentsOf: out)
        for (extra, setting) in [
            (["--batch-size", "4", "--temperature", "0.5"], "--temperature was 1.0, now 0.5"),
            (["--batch-size", "3"], "--batch-size was 4, now 3"),
            (["--batch-size", "4", "--n", "2"], "--n was 1, now 2"),
            (["--batch-size", "4", "--chat"], "--chat was false, now true"),
            (["--batch-size", "4", "--max-tokens", "5"], "--max-tokens was 6, now 5"),
        ] {
            let result = try generate(data, out, extra)
            XCTAssertNotEqual(result.status, 0, "\(extra)")
            XCTAssertTrue(result.standardError.contains(setting), result.standardError)
            XCTAssertTrue(result.standardError.contains("--overwrite"), result.standardError)
            XCTAssertEqual(try Data(contentsOf: out), written)
        }
        try writeFile(#"{"prompt": "another prompt"}"# + "\n", named: "prompts.jsonl", in: root)
        let changed = try generate(data, out, ["--batch-size", "4"])
        XCTAssertNotEqual(changed.status, 0)
        XCTAssertTrue(changed.standardError.contains("the content of --data"), changed.standardError)

        let overwritten = try generate(data, out, ["--batch-size", "4", "--temperature", "0", "--overwrite"])
        XCTAssertEqual(overwritten.status, 0, overwritten.standardError)
        XCTAssertTrue(overwritten.standardError.contains("overwriting"), overwritten.standardError)
        XCTAssertEqual(try lines(out).count, 1)
        let recorded = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: sidecar(out))) as? [String: Any])
        XCTAssertEqual(recorded["temperature"] as? Double, 0)
        XCTAssertEqual(recorded["batch_size"] as? Int, 4)
    }

    func testAFileGputrainDidNotWriteIsNeverChanged() throws {
        let data = try prompts(3)
        let mine = try writeFile("my own notes\n", named: "notes.jsonl", in: root)
        for flags in [[], ["--overwrite"]] {
            let result = try generate(data, mine, flags)
            XCTAssertNotEqual(result.status, 0, "\(flags)")
            XCTAssertTrue(result.standardError.contains("\(mine.path): exists without"), result.standardError)
            XCTAssertEqual(try String(contentsOf: mine, encoding: .utf8), "my own notes\n")
            XCTAssertFalse(FileManager.default.fileExists(atPath: sidecar(mine).path))
        }
    }

    func testBadPromptLinesAreErrorsNamingTheLineAndNothingIsWritten() throws {
        let good = #"{"prompt": "fine"}"# + "\n" + #"{"prompt": [{"role": "user", "content": "also fine"}]}"#
        for (line, expected) in [
            (#"{"prompt": ""}"#, #""prompt" is an empty string"#),
            (#"{"prompt": []}"#, #""prompt" is empty"#),
            (#"["not", "an object"]"#, "not a JSON object; each line must look like"),
            (#"{"question": "where?"}"#, #"missing "prompt""#),
        ] {
            let data = try writeFile(good + "\n" + line + "\n", named: "bad.jsonl", in: root)
            let out = root.appendingPathComponent("never.jsonl")
            let result = try generate(data, out)
            XCTAssertNotEqual(result.status, 0, line)
            XCTAssertTrue(result.standardError.contains("\(data.path):3: \(expected)"), result.standardError)
            XCTAssertTrue(result.standardError.contains(#"{"prompt": "..."}"#), "says what a line looks like")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: sidecar(out).path), line)
        }
    }

    func testAMessageListNeedsAModelWithAChatTemplate() throws {
        let data = try prompts(2)
        let out = root.appendingPathComponent("never.jsonl")
        let result = try CommandRunner.run([
            "generate", "--model", HuggingFaceFixtures.folder("gpt2-tiny").path, "--data", data.path, "--out",
            out.path,
        ])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(
            result.standardError.contains("\(data.path):1: a message-list prompt is rendered with the model's chat"),
            result.standardError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    func testLinesHaveTheDocumentedKeysAndShapes() throws {
        let messages = #"[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?", "name": "x"}]"#
        let data = try writeFile(
            #"{"prompt": "Once upon"}"# + "\n\n" + #"{"prompt": \#(messages), "other": 1}"# + "\n",
            named: "shapes.jsonl", in: root)
        let out = root.appendingPathComponent("shapes-out.jsonl")
        let result = try generate(data, out, ["--n", "2", "--chat", "--system", "Answer."])
        XCTAssertEqual(result.status, 0, result.standardError)
        let text = try String(contentsOf: out, encoding: .utf8)
        for line in text.split(separator: "\n") {
            XCTAssertTrue(line.hasPrefix(#"{"index":"#), String(line))
            let keys = [
                "\"index\":", "\"sample\":", "\"prompt\":", "\"completion\":", "\"tokens\":", "\"finish_reason\":",
            ]
            let positions = keys.map { line.range(of: $0)?.lowerBound }
            XCTAssertEqual(positions.compactMap { $0 }.count, keys.count, String(line))
            XCTAssertEqual(positions.compactMap { $0 }, positions.compactMap { $0 }.sorted(), "keys in order")
        }
        XCTAssertTrue(
            text.contains(
                #","prompt":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi?","name":"x"}],"#))
        let rows = try lines(out)
        XCTAssertEqual(rows.count, 4)
        for row in rows {
            XCTAssertEqual(Set(row.keys), ["index", "sample", "prompt", "completion", "tokens", "finish_reason"])
            let index = try XCTUnwrap(row["index"] as? Int)
            XCTAssertNotNil(row["sample"] as? Int)
            let tokens = try XCTUnwrap(row["tokens"] as? Int)
            let reason = try XCTUnwrap(row["finish_reason"] as? String)
            XCTAssertTrue(reason == "length" ? tokens == 6 : reason == "stop" && tokens <= 6, "\(row)")
            if index == 0 {
                XCTAssertEqual(row["prompt"] as? String, "Once upon")
                XCTAssertNotNil(row["completion"] as? String)
            } else {
                XCTAssertEqual((row["prompt"] as? [[String: String]])?.count, 2)
                let completion = try XCTUnwrap(row["completion"] as? [[String: String]])
                XCTAssertEqual(completion.count, 1)
                XCTAssertEqual(completion.first?["role"], "assistant")
                XCTAssertNotNil(completion.first?["content"])
            }
        }
    }

    func testAStopTokenEndsTheAnswerAndIsLeftOutOfTheCompletion() throws {
        // A copy of the model that stops at every token: each answer is its stop token alone.
        let folder = root.appendingPathComponent("stops-at-once")
        try FileManager.default.copyItem(at: model, to: folder)
        let configURL = folder.appendingPathComponent("config.json")
        var config = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["eos_token_id"] = Array(0..<400)
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let data = try prompts(2)
        let out = root.appendingPathComponent("stopped.jsonl")
        let result = try CommandRunner.run([
            "generate", "--model", folder.path, "--device", "reference", "--data", data.path, "--out", out.path,
        ])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardError.contains("2 stopped, 0 at the length limit"), result.standardError)
        let rows = try lines(out)
        XCTAssertEqual(rows.map { $0["finish_reason"] as? String }, ["stop", "stop"])
        XCTAssertEqual(rows.map { $0["tokens"] as? Int }, [1, 1])
        XCTAssertEqual(rows[0]["completion"] as? [[String: String]], [["role": "assistant", "content": ""]])
        XCTAssertEqual(rows[1]["completion"] as? String, "")
    }

    func testDataNeedsOutAndTheFileOptionsNeedData() throws {
        let data = try prompts(1)
        let noOut = try CommandRunner.run(["generate", "--model", model.path, "--data", data.path])
        XCTAssertNotEqual(noOut.status, 0)
        XCTAssertTrue(noOut.standardError.contains("--data needs --out"), noOut.standardError)
        let both = try CommandRunner.run(["generate", "--model", model.path, "--prompt", "x", "--data", data.path])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.standardError.contains("either --prompt or --data"), both.standardError)
        let stray = try CommandRunner.run(["generate", "--model", model.path, "--prompt", "x", "--n", "2"])
        XCTAssertNotEqual(stray.status, 0)
        XCTAssertTrue(stray.standardError.contains("go with --data"), stray.standardError)
    }
}
