import Datasets
import Formats
import Foundation
import TestSupport
import XCTest

@testable import Training

/// The programmatic reward functions, their choice by name, and their weighted sum.
final class RewardFunctionTests: XCTestCase {
    private func prompt(_ question: String, system: String? = nil, answer: JSONValue? = nil) -> RLPrompt {
        var fields = JSONObject()
        if let answer { fields["answer"] = answer }
        return RLPrompt(messages: (system.map { [ChatMessage.system($0)] } ?? []) + [.user(question)], fields: fields)
    }

    func testExactMatchFindsTheAnswerAsWholeWords() {
        let reward = ExactMatchReward()
        let language = prompt("What language do people speak in Tuth?", answer: "Lunese")
        XCTAssertEqual(reward.reward(prompt: language, completion: "The language of Tuth is Lunese."), 1)
        XCTAssertEqual(reward.reward(prompt: language, completion: "lunese"), 1, "case is ignored")
        XCTAssertEqual(reward.reward(prompt: language, completion: "Lunesean"), 0, "a longer word is another word")
        XCTAssertEqual(reward.reward(prompt: language, completion: "Quell"), 0)
        let person = prompt("Who lives in Zil?", answer: "Rhea Palgor")
        XCTAssertEqual(reward.reward(prompt: person, completion: "Rhea Palgor lives there."), 1)
        XCTAssertEqual(reward.reward(prompt: person, completion: "Rhea lives there."), 0, "the whole phrase is needed")
        XCTAssertEqual(reward.reward(prompt: prompt("Where?"), completion: "anything"), 0, "no reference, no reward")
    }

    func testExactMatchReadsTheLastNumberForArithmetic() {
        let reward = ExactMatchReward()
        let sum = prompt("What is 20 + 16?", answer: "36")
        XCTAssertEqual(reward.reward(prompt: sum, completion: "20 + 16 equals 36."), 1)
        XCTAssertEqual(reward.reward(prompt: sum, completion: "36"), 1)
        XCTAssertEqual(reward.reward(prompt: sum, completion: "36 is not 20 + 16"), 0, "the last number counts")
        XCTAssertEqual(reward.reward(prompt: sum, completion: "360"), 0)
        XCTAssertEqual(reward.reward(prompt: prompt("What is 2 - 5?", answer: "-3"), completion: "2 - 5 equals -3."), 1)
        XCTAssertEqual(
            reward.reward(prompt: prompt("What is 2 * 8?", answer: 16), completion: "It is 16.0"), 1,
            "a JSON number answer")
        XCTAssertEqual(RewardText.numbers(in: "19 - 3 equals 16, not 1.5 or -2."), [19, 3, 16, 1.5, -2])
    }

    func testFormatFollowsTheRequestedStyle() {
        let reward = FormatReward()
        let oneWord = prompt("What color is the veigas?", system: "Answer in one word.")
        XCTAssertEqual(reward.reward(prompt: oneWord, completion: "Black"), 1)
        XCTAssertEqual(reward.reward(prompt: oneWord, completion: "Black."), 1)
        XCTAssertEqual(reward.reward(prompt: oneWord, completion: "A veigas has black fur."), 0)
        XCTAssertEqual(reward.reward(prompt: oneWord, completion: ""), 0)
        let sentence = prompt("What color is the veigas?", system: "Answer in a full sentence.")
        XCTAssertEqual(reward.reward(prompt: sentence, completion: "A veigas has black fur."), 1)
        XCTAssertEqual(reward.reward(prompt: sentence, completion: "7 + 4 equals 11!"), 1)
        XCTAssertEqual(reward.reward(prompt: sentence, completion: "Black"), 0)
        XCTAssertEqual(
            reward.reward(prompt: sentence, completion: "a veigas has black fur."), 0, "starts with a capital")
        XCTAssertEqual(
            reward.reward(prompt: sentence, completion: "A veigas has black fur"), 0, "ends with a full stop")
        XCTAssertEqual(
            reward.reward(prompt: prompt("What color is the veigas?"), completion: "whatever"), 1, "no style asked")
        XCTAssertEqual(
            FormatReward.style(of: [.user("In a single word: where is Zil?")]), .oneWord, "asked in the user turn")
    }

    func testLengthPrefersShortAnswers() throws {
        let reward = try LengthReward(limit: 4)
        let any = prompt("Why?")
        XCTAssertEqual(reward.reward(prompt: any, completion: ""), 1)
        XCTAssertEqual(reward.reward(prompt: any, completion: "one"), 0.75)
        XCTAssertEqual(reward.reward(prompt: any, completion: "one two  three\nfour"), 0)
        XCTAssertEqual(reward.reward(prompt: any, completion: "one two three four five six"), 0)
        XCTAssertThrowsError(try LengthReward(limit: 0)) { XCTAssertTrue("\($0)".contains("length_limit"), "\($0)") }
    }

    func testRewardModelScoresWithItsHead() throws {
        let device = TestDevices.reference()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reward-fn-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try _ = GRPOTestModels.rewardModel(in: folder, device: device)
        let reward = try RewardModelReward(folder: folder, device: device, batchSize: 2)
        let prompts = [prompt("Where is Zil?"), prompt("Where is Tuth?"), prompt("Where is Zil?")]
        let completions = ["Zil is east.", "Tuth is far away in the west.", "Zil is east."]
        let scores = try reward.rewards(prompts: prompts, completions: completions)
        XCTAssertEqual(scores.count, 3)
        XCTAssertTrue(scores.allSatisfy(\.isFinite))
        XCTAssertEqual(scores[0], scores[2], "the same text scores the same in another batch")
        XCTAssertNotEqual(scores[0], scores[1])
        XCTAssertEqual(
            try reward.reward(prompt: prompts[1], completion: completions[1]), scores[1], accuracy: 1e-5,
            "alone as in a batch (right padding never reaches a real token)")
    }

    func testRewardsAreChosenByNameAndSummedWithWeights() throws {
        let set = try RewardSet(
            specs: [
                RewardSpec(name: "exact_match", weight: 1), RewardSpec(name: "format", weight: 0.5),
                RewardSpec(name: "length", weight: -0.25),
            ],
            options: .init(lengthLimit: 4), device: TestDevices.reference())
        XCTAssertEqual(set.names, ["exact_match", "format", "length"])
        let question = prompt("What is 2 + 2?", system: "Answer in one word.", answer: "4")
        let scored = try set.score(prompts: [question, question], completions: ["4", "It is 5."])
        XCTAssertEqual(scored.byName["exact_match"], [1, 0])
        XCTAssertEqual(scored.byName["format"], [1, 0])
        XCTAssertEqual(scored.byName["length"], [0.75, 0.25])
        XCTAssertEqual(scored.total[0], 1 + 0.5 - 0.25 * 0.75, accuracy: 1e-12)
        XCTAssertEqual(scored.total[1], -0.25 * 0.25, accuracy: 1e-12)
    }

    func testUnknownOrMisconfiguredRewardsAreConfigErrors() {
        let device = TestDevices.reference()
        func message(_ specs: [RewardSpec], _ options: RewardSet.Options = .init()) -> String {
            do {
                _ = try RewardSet(specs: specs, options: options, device: device)
                return "no error"
            } catch { return "\(error)" }
        }
        let unknown = message([RewardSpec(name: "exact_mach")])
        XCTAssertTrue(
            unknown.contains("unknown reward 'exact_mach'") && unknown.contains("did you mean 'exact_match'"), unknown)
        XCTAssertTrue(unknown.contains("exact_match, format, length, reward_model"), unknown)
        XCTAssertTrue(message([]).contains("'rewards' must be at least one of"))
        XCTAssertTrue(message([RewardSpec(name: "format"), RewardSpec(name: "format")]).contains("named once each"))
        XCTAssertTrue(
            message([RewardSpec(name: "reward_model")]).contains("'reward_model' must be a reward model folder"))
        XCTAssertTrue(message([RewardSpec(name: "reward_model")], .init(rewardModel: "/nowhere")).contains("/nowhere"))
    }

    func testRewardListIsReadFromYAML() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("grpo-rewards-\(getpid()).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try "rewards:\n  - {name: exact_match, weight: 2.0}\n  - name: length\nlength_limit: 8\n".write(
            to: file, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(GRPOConfig.self, from: file)
        XCTAssertEqual(
            config.rewards, [RewardSpec(name: "exact_match", weight: 2), RewardSpec(name: "length", weight: 1)])
        XCTAssertEqual(config.lengthLimit, 8)
        try "rewards:\n  - {name: format, wieght: 2.0}\n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigLoader.load(GRPOConfig.self, from: file)) { error in
            XCTAssertTrue("\(error)".contains("unknown key 'wieght'"), "\(error)")
        }
        let resolved = try ConfigLoader.yaml(of: config)
        XCTAssertTrue(resolved.contains("length_limit: 8"), resolved)
    }

    func testMissingAnswerFieldNamesTheLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("grpo-prompts-\(getpid()).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try #"{"prompt": "What is 1 + 1?", "answer": "2"}"#.appending("\n\n").appending(
            #"{"prompt": "What is 1 + 2?"}"#
        )
        .write(to: file, atomically: true, encoding: .utf8)
        let set = try RewardSet(
            specs: [RewardSpec(name: "exact_match")], options: .init(), device: TestDevices.reference())
        XCTAssertThrowsError(try set.requireFields(of: RLPromptDataset.read(file), in: file)) { error in
            XCTAssertTrue("\(error)".contains("\(file.path):3:") && "\(error)".contains("\"answer\""), "\(error)")
        }
        let format = try RewardSet(
            specs: [RewardSpec(name: "format")], options: .init(), device: TestDevices.reference())
        XCTAssertNoThrow(try format.requireFields(of: RLPromptDataset.read(file), in: file))
    }
}
