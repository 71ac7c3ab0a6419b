import Foundation
import TestSupport
import XCTest

/// `gputrain label` in the terminal as a person uses it (on a pseudo-terminal): rankings become
/// exactly the pairs they imply, ties, undo and skip, a kill -9 loses nothing, answers sampled
/// with a model are seeded, and bad input is refused with nothing written.
final class LabelCommandTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeScratchFolder("label-cli")
    }

    /// Three prompts with four answers each; the second is a message list.
    static let prompts: [(prompt: Any, answers: [String])] = [
        ("What is the capital of Varn?", ["Tolm.", "The capital of Varn is Tolm.", "Varn.", "I do not know."]),
        (
            [
                ["role": "system", "content": "Answer in one word."],
                ["role": "user", "content": "What do otters eat?"],
            ],
            ["Fish.", "Otters eat fish.", "Grass.", "Fish and crabs."]
        ),
        ("Say hello.", ["Hello!", "Hi.", "Goodbye.", "Hello, how can I help?"]),
    ]

    /// Writes `prompts` as a prompts file, with their answers.
    static func writePrompts(in folder: URL) throws -> URL {
        let lines = try prompts.map { prompt, answers in
            String(
                decoding: try JSONSerialization.data(withJSONObject: ["prompt": prompt, "answers": answers]),
                as: UTF8.self)
        }
        let url = folder.appendingPathComponent("prompts.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// The preference lines `rankings` (0-based groups, best first; nil: skipped) imply, parsed.
    static func expectedPairs(_ rankings: [[[Int]]?]) -> [NSDictionary] {
        var pairs: [NSDictionary] = []
        for ((prompt, answers), ranking) in zip(prompts, rankings) {
            guard let ranking else { continue }
            let conversational = prompt is [Any]
            func completion(_ index: Int) -> Any {
                conversational ? [["role": "assistant", "content": answers[index]]] : answers[index]
            }
            for (position, group) in ranking.enumerated() {
                for better in group.sorted() {
                    for worse in ranking[(position + 1)...].flatMap({ $0.sorted() }) {
                        pairs.append(["prompt": prompt, "chosen": completion(better), "rejected": completion(worse)])
                    }
                }
            }
        }
        return pairs
    }

    /// The JSON objects of a JSONL file, in order.
    static func jsonLines(_ url: URL) throws -> [NSDictionary] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? NSDictionary)
        }
    }

    private var out: URL { root.appendingPathComponent("prefs.jsonl") }
    private var session: URL { root.appendingPathComponent("prefs.jsonl.session.jsonl") }

    func testRankingsBecomeTheirPairsAndAKillLosesNothing() throws {
        let prompts = try Self.writePrompts(in: root)
        let arguments = ["label", "--prompts", prompts.path, "--out", out.path, "--annotator", "ada"]
        let first = try PseudoTerminal(arguments)
        let shown = try first.read(until: "> ")
        XCTAssertTrue(shown.contains("Prompt 1 of 3"), shown)
        XCTAssertTrue(shown.contains("[2] The capital of Varn is Tolm."), shown)
        first.type("2 1 4 3")
        let second = try first.read(until: "> ")
        XCTAssertTrue(second.contains("Prompt 2 of 3") && second.contains("system: Answer in one word."), second)
        first.type("4 2 1 3")
        try first.read(until: "Prompt 3 of 3")
        // Both rankings are on disk before the next prompt shows: a kill now loses neither.
        first.killHard()
        XCTAssertEqual(try Self.jsonLines(out), Self.expectedPairs([[[1], [0], [3], [2]], [[3], [1], [0], [2]]]))

        let resumed = try PseudoTerminal(arguments)
        let third = try resumed.read(until: "> ")
        XCTAssertTrue(third.contains("Prompt 3 of 3 · 2 ranked · 0 skipped"), third)
        XCTAssertFalse(third.contains("Prompt 1 of 3") || third.contains("Prompt 2 of 3"), third)
        resumed.type("1 4 2 3")
        let summary = try resumed.read(until: "pairs")
        XCTAssertTrue(summary.contains("All 3 prompts decided: 3 ranked, 0 skipped; 18"), summary)
        XCTAssertEqual(resumed.wait(), 0, resumed.standardError())

        let rankings = [[[1], [0], [3], [2]], [[3], [1], [0], [2]], [[0], [3], [1], [2]]]
        let pairs = try Self.jsonLines(out)
        XCTAssertEqual(pairs.count, 18)
        XCTAssertEqual(pairs, Self.expectedPairs(rankings))
        let records = try Self.jsonLines(session)
        XCTAssertEqual(records.map { $0["index"] as? Int }, [0, 1, 2])
        XCTAssertEqual(records.map { $0["ranking"] as? [[Int]] }, rankings)
        for record in records {
            XCTAssertEqual(record["annotator"] as? String, "ada")
            XCTAssertEqual(record["skipped"] as? Bool, false)
            XCTAssertTrue(record["sampling"] is NSNull)
            let time = try XCTUnwrap(record["time"] as? String)
            XCTAssertNotNil(ISO8601DateFormatter().date(from: time), time)
        }
    }

    func testTiesUndoSkipAndBadCommands() throws {
        let prompts = try Self.writePrompts(in: root)
        let terminal = try PseudoTerminal(["label", "--prompts", prompts.path, "--out", out.path])
        try terminal.read(until: "Prompt 1 of 3")
        terminal.type("1=2 3 4")
        try terminal.read(until: "Prompt 2 of 3")
        XCTAssertEqual(try Self.jsonLines(out).count, 5, "1 and 2 tie: 5 pairs, not 6")
        terminal.type("u")
        try terminal.read(until: "Undone.")
        try terminal.read(until: "Prompt 1 of 3 · 0 ranked")
        XCTAssertEqual(try String(contentsOf: out, encoding: .utf8), "")
        XCTAssertEqual(try String(contentsOf: session, encoding: .utf8), "")
        terminal.type("2 1 3=4")
        try terminal.read(until: "Prompt 2 of 3")
        terminal.type("s")
        try terminal.read(until: "Prompt 3 of 3")
        terminal.type("5 1 2 3")
        try terminal.read(until: "there is no answer 5; the answers are 1 to 4")
        terminal.type("1 2 x")
        try terminal.read(until: "'x' is not an answer number")
        terminal.type("1 2")
        try terminal.read(until: "rank every answer: 3, 4 are missing")
        terminal.type("1 2 1 3 4")
        try terminal.read(until: "answer 1 is ranked twice")
        terminal.type("?")
        try terminal.read(until: "undo the last decision")
        terminal.type("1=2=3=4")
        try terminal.read(until: "All 3 prompts decided: 2 ranked, 1 skipped; 5 preference pairs")
        XCTAssertEqual(terminal.wait(), 0, terminal.standardError())

        XCTAssertEqual(try Self.jsonLines(out), Self.expectedPairs([[[1], [0], [2, 3]], nil, [[0, 1, 2, 3]]]))
        let records = try Self.jsonLines(session)
        XCTAssertEqual(records.map { $0["skipped"] as? Bool }, [false, true, false])
        XCTAssertTrue(records[1]["ranking"] is NSNull)
        XCTAssertEqual(records[2]["ranking"] as? [[Int]], [[0, 1, 2, 3]])
    }

    func testQuitAndEndOfInputKeepProgress() throws {
        let prompts = try Self.writePrompts(in: root)
        let arguments = ["label", "--prompts", prompts.path, "--out", out.path]
        let terminal = try PseudoTerminal(arguments)
        try terminal.read(until: "Prompt 1 of 3")
        terminal.type("1 2 3 4")
        try terminal.read(until: "Prompt 2 of 3")
        terminal.type("q")
        try terminal.read(until: "Stopped at prompt 2 of 3 (1 decided)")
        XCTAssertEqual(terminal.wait(), 0, terminal.standardError())
        // End of input (not a terminal here) quits the same way.
        let ended = try CommandRunner.run(arguments, input: "")
        XCTAssertEqual(ended.status, 0, ended.standardError)
        XCTAssertTrue(ended.standardOutput.contains("Stopped at prompt 2 of 3 (1 decided)"), ended.standardOutput)
        // Ctrl-C (SIGINT) while a prompt waits: the decisions are already on disk.
        let interrupted = try PseudoTerminal(arguments)
        try interrupted.read(until: "Prompt 2 of 3")
        interrupted.type("4 3 2 1")
        try interrupted.read(until: "Prompt 3 of 3")
        kill(interrupted.process.processIdentifier, SIGINT)
        XCTAssertEqual(interrupted.wait(), 128 + SIGINT)
        XCTAssertTrue(
            interrupted.standardError().contains("interrupted: 2 of 3 prompts decided"), interrupted.standardError())
        XCTAssertEqual(try Self.jsonLines(out).count, 12)
        XCTAssertEqual(try Self.jsonLines(session).count, 2)
    }

    func testAPartialLastLineIsDropped() throws {
        let prompts = try Self.writePrompts(in: root)
        let arguments = ["label", "--prompts", prompts.path, "--out", out.path]
        XCTAssertEqual(try CommandRunner.run(arguments, input: "1 2 3 4\nq\n").status, 0)
        // A crash in the middle of appending the second decision.
        let handle = try FileHandle(forWritingTo: session)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"index":1,"prompt":[{"role":"#.utf8))
        try handle.close()
        let resumed = try CommandRunner.run(arguments, input: "1 2 3 4\n1 2 3 4\n")
        XCTAssertEqual(resumed.status, 0, resumed.standardError)
        XCTAssertTrue(resumed.standardOutput.contains("Prompt 2 of 3 · 1 ranked"), resumed.standardOutput)
        XCTAssertEqual(try Self.jsonLines(session).map { $0["index"] as? Int }, [0, 1, 2])
        XCTAssertEqual(try Self.jsonLines(out).count, 18)
    }

    func testASessionOfOtherPromptsIsRefused() throws {
        let prompts = try Self.writePrompts(in: root)
        XCTAssertEqual(
            try CommandRunner.run(["label", "--prompts", prompts.path, "--out", out.path], input: "1 2 3 4\nq\n")
                .status, 0)
        let before = try Data(contentsOf: session)
        let other = try writeFile(
            #"{"prompt": "Another question?", "answers": ["a", "b"]}"# + "\n", named: "other.jsonl", in: root)
        let result = try CommandRunner.run(["label", "--prompts", other.path, "--out", out.path], input: "")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(
            result.standardError.contains("decision 1 has the prompt \"What is the capital of Varn?\"")
                && result.standardError.contains("other.jsonl:1") && result.standardError.contains("--session"),
            result.standardError)
        XCTAssertEqual(try Data(contentsOf: session), before)
    }

    func testSampledAnswersAreSeededAndRecordTheirSettings() throws {
        let model = try pretrainedTinyModel(in: root)
        let prompts = try writeFile(
            #"{"prompt": "What is the capital of Varn?"}"# + "\n"
                + #"{"prompt": [{"role": "user", "content": "Name an animal."}]}"# + "\n",
            named: "prompts.jsonl", in: root)
        let arguments = [
            "label", "--model", model.path, "--prompts", prompts.path, "--out", out.path, "--n", "3",
            "--max-tokens", "8", "--seed", "7", "--system", "Be brief.", "--device", "reference",
        ]
        let looked = try CommandRunner.run(arguments, input: "q\n")
        XCTAssertEqual(looked.status, 0, looked.standardError)
        XCTAssertTrue(looked.standardOutput.contains("[3] ") && !looked.standardOutput.contains("[4] "))
        XCTAssertFalse(FileManager.default.fileExists(atPath: session.path), "nothing decided, nothing written")
        let ranked = try CommandRunner.run(arguments, input: "3 1 2\n1 2 3\n")
        XCTAssertEqual(ranked.status, 0, ranked.standardError)
        func firstPrompt(_ output: String) -> Substring? {
            output.components(separatedBy: "Prompt 2 of 2").first?.split(separator: "> ").first
        }
        XCTAssertEqual(
            firstPrompt(ranked.standardOutput), firstPrompt(looked.standardOutput), "same seed, same answers")

        let records = try Self.jsonLines(session)
        XCTAssertEqual(records.count, 2)
        for record in records {
            let sampling = try XCTUnwrap(record["sampling"] as? [String: Any])
            XCTAssertEqual(sampling["model"] as? String, model.standardizedFileURL.path)
            XCTAssertEqual(sampling["n"] as? Int, 3)
            XCTAssertEqual(sampling["max_tokens"] as? Int, 8)
            XCTAssertEqual(sampling["seed"] as? Int, 7)
            XCTAssertEqual(sampling["temperature"] as? Double, 1)
            XCTAssertEqual(sampling["top_p"] as? Double, 1)
            XCTAssertTrue(sampling["top_k"] is NSNull)
            XCTAssertEqual(sampling["system"] as? String, "Be brief.")
            XCTAssertEqual((record["answers"] as? [String])?.count, 3)
        }
        let pairs = try Self.jsonLines(out)
        for pair in pairs where pair["prompt"] is [Any] {
            XCTAssertNotNil(pair["chosen"] as? [[String: String]], "a message-list prompt gets assistant messages")
        }
        XCTAssertLessThanOrEqual(pairs.count, 6)
        // The pairs are preference data as the reward model and DPO read it.
        let inspected = try CommandRunner.run([
            "data", "inspect", "--model", model.path, "--data", out.path, "--n", "6",
        ])
        XCTAssertEqual(inspected.status, 0, inspected.standardError)
        XCTAssertTrue(inspected.standardOutput.contains("pair \(pairs.count) rejected"), inspected.standardOutput)

        // Other settings would show other answers: the session is refused, and left as it is.
        let before = try Data(contentsOf: session)
        let reseeded = try CommandRunner.run(
            arguments.map { $0 == "7" ? "8" : $0 } + ["--session", session.path], input: "")
        XCTAssertNotEqual(reseeded.status, 0)
        XCTAssertTrue(
            reseeded.standardError.contains("sampled with seed 7")
                && reseeded.standardError.contains("this run asks for seed 8"), reseeded.standardError)
        XCTAssertEqual(try Data(contentsOf: session), before)
    }

    func testBadInputIsNamedAndNothingIsWritten() throws {
        func refused(_ lines: [String], _ extra: [String] = [], expect: [String]) throws {
            let prompts = try writeFile(lines.joined(separator: "\n") + "\n", named: "bad.jsonl", in: root)
            let result = try CommandRunner.run(
                ["label", "--prompts", prompts.path, "--out", out.path] + extra, input: "")
            XCTAssertNotEqual(result.status, 0, "\(lines)")
            for text in expect {
                XCTAssertTrue(result.standardError.contains(text), "'\(text)' not in: \(result.standardError)")
            }
            let written = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0 != "bad.jsonl" }
            XCTAssertEqual(written, [], "nothing written")
        }
        try refused(
            [#"{"prompt": "", "answers": ["a", "b"]}"#],
            expect: ["bad.jsonl:1", #"the prompt is empty ("")"#, "write the question"])
        try refused(
            [#"{"prompt": "Hi?", "answers": ["a", "b"]}"#, #"{"prompt": [], "answers": ["a", "b"]}"#],
            expect: ["bad.jsonl:2", #""prompt" is empty"#])
        try refused(
            [#"{"prompt": "Hi?", "answers": "Hello."}"#],
            expect: ["bad.jsonl:1", #""answers" is a string ("Hello.")"#, "list of at least 2 non-empty strings"])
        try refused(
            [#"{"prompt": "Hi?", "answers": ["Hello.", 3]}"#],
            expect: ["bad.jsonl:1", #""answers"[1] is an integer (3)"#])
        try refused(
            [#"{"prompt": "Hi?", "answers": ["Hello.", " "]}"#],
            expect: ["bad.jsonl:1", #""answers"[1] is empty (" ")"#])
        try refused(
            [#"{"prompt": "Hi?", "answers": ["Hello."]}"#],
            expect: ["bad.jsonl:1", #""answers" has 1 answer (["Hello."])"#, "at least 2"])
        try refused(
            [#"{"prompt": "Hi?", "answers": ["a", "b"]}"#, "", #"{"prompt": "Bye?"}"#],
            expect: ["bad.jsonl:3", #"no "answers", while line 1 has them"#, "--model"])
        try refused([#"{"prompt": "Hi?"}"#], expect: [#"no line has "answers""#, "--model DIR"])
        try refused(
            [#"{"prompt": "Hi?", "answers": ["a", "b"]}"#], ["--n", "1"],
            expect: ["--n is 1", "at least 2 answers per prompt"])
        try refused(
            [#"{"prompt": "Hi?", "answers": ["a", "b"]}"#, "not json"],
            expect: ["bad.jsonl:2", "not valid JSON"])
        try refused(
            [#"{"prompt": "Hi?"}"#], ["--model", root.appendingPathComponent("no-model").path],
            expect: ["'--model'", "no-model", "not a model folder"])

        let missing = try CommandRunner.run(
            ["label", "--prompts", root.appendingPathComponent("none.jsonl").path, "--out", out.path], input: "")
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(
            missing.standardError.contains("none.jsonl: no such file; give a JSONL file"), missing.standardError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    func testAnOutputFileWithoutItsSessionIsNotReplaced() throws {
        let prompts = try Self.writePrompts(in: root)
        try "precious\n".write(to: out, atomically: true, encoding: .utf8)
        let result = try CommandRunner.run(["label", "--prompts", prompts.path, "--out", out.path], input: "")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("holds no decisions"), result.standardError)
        XCTAssertEqual(try String(contentsOf: out, encoding: .utf8), "precious\n")
    }
}
