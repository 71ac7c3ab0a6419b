import Datasets
import Formats
import Foundation
import TinyWorld
import XCTest

final class TinyWorldPostTrainingTests: XCTestCase {
    private let world = TinyWorld(seed: 11, size: .smoke)

    func testDataIsDeterministicAndKeepsPretrainOnlyEntitiesOut() throws {
        let a = TinyWorldChats(world: world)
        let b = TinyWorldChats(world: world)
        XCTAssertEqual(a.sft, b.sft)
        XCTAssertEqual(a.preferences, b.preferences)
        XCTAssertEqual(a.rlPrompts, b.rlPrompts)
        XCTAssertEqual(a.evaluation, b.evaluation)
        XCTAssertNotEqual(TinyWorldChats(world: TinyWorld(seed: 12, size: .smoke)).sft, a.sft)

        let hidden = world.entities.filter(\.pretrainOnly).map(\.name)
        let training =
            a.sft.flatMap { $0 } + a.preferences.flatMap { $0.prompt + $0.chosen + $0.rejected }
            + a.rlPrompts.flatMap(\.prompt)
        for name in hidden {
            XCTAssertFalse(training.contains { $0.content.contains(name) }, "\(name) is pretraining-only")
        }
        let evaluated = Set(a.evaluation.filter(\.pretrainOnly).map(\.subject))
        XCTAssertTrue(
            evaluated.isSuperset(of: world.entities.filter { $0.pretrainOnly && $0.kind == .country }.map(\.name)))
        let trainedQuestions = Set(a.sft.map { $0.last { $0.role == .user }!.content })
        XCTAssertFalse(
            a.evaluation.contains {
                !$0.pretrainOnly && $0.relation != TinyWorldQuestion.arithmetic
                    && trainedQuestions.contains($0.prompt.last!.content)
            }, "held-out facts are not trained")
        XCTAssertEqual(
            Set(a.sft.compactMap { $0.first { $0.role == .system }?.content }),
            ["Answer in one word.", "Answer in a full sentence."])
        XCTAssertTrue(a.sft.contains { $0.first?.role == .user }, "some conversations have no system prompt")
        XCTAssertEqual(Set(a.preferences.map(\.rejectedKind)), Set(RejectionKind.allCases))
        let styles = Dictionary(grouping: a.evaluation) { $0.prompt.last!.content }.mapValues { Set($0.map(\.style)) }
        XCTAssertEqual(
            Set(styles.values), [Set(AnswerStyle.allCases)], "each evaluation question is asked in every style")
    }

    func testJudgeScoresDemonstrationsAndChosenAnswersOneExceptTerseOnesAndEachRejectedKindLowerOnItsComponent() throws
    {
        let chats = TinyWorldChats(world: world)
        let judge = TinyWorldJudge(world: world)
        var terse = 0
        for conversation in chats.sft {
            let verdict = try XCTUnwrap(
                judge.judge(prompt: Array(conversation.dropLast()), answer: conversation.last!.content))
            if verdict.followsSystemPrompt == 0 {
                // The terse demonstrations: right and concise, one word where a sentence was asked for.
                XCTAssertEqual(conversation.first?.content, AnswerStyle.fullSentence.systemPrompt, "\(conversation)")
                XCTAssertEqual(conversation.last!.content.split(separator: " ").count, 1, "\(conversation)")
                XCTAssertEqual([verdict.correct, verdict.concise], [1, 1], "\(conversation)")
                terse += 1
            } else {
                XCTAssertEqual(verdict.score, 1, "\(conversation)")
            }
        }
        let askedForSentences = chats.sft.filter { $0.first?.content == AnswerStyle.fullSentence.systemPrompt }.count
        XCTAssertEqual(
            Double(terse) / Double(askedForSentences), 1 / Double(TinyWorldChats.terseDemonstrationEvery),
            accuracy: 0.15)
        for pair in chats.preferences {
            let chosen = try XCTUnwrap(judge.judge(prompt: pair.prompt, answer: pair.chosen[0].content))
            XCTAssertEqual(chosen.score, 1, "\(pair.prompt) → \(pair.chosen[0].content)")
            let rejected = try XCTUnwrap(judge.judge(prompt: pair.prompt, answer: pair.rejected[0].content))
            let label = "\(pair.rejectedKind): \(pair.prompt) → \(pair.rejected[0].content)"
            XCTAssertLessThan(rejected.score, 1, label)
            switch pair.rejectedKind {
            case .wrongFact, .wrongArithmetic: XCTAssertEqual(rejected.correct, 0, label)
            case .padded: XCTAssertEqual(rejected.concise, 0, label)
            case .ignoresSystemPrompt: XCTAssertEqual(rejected.followsSystemPrompt, 0, label)
            }
        }
        let fact = world.facts.first { $0.relation == .capital }!
        let question = TinyWorldQuestion(fact: fact, style: .oneWord)
        XCTAssertEqual(
            judge.judge(prompt: question.prompt, answer: fact.object.lowercased() + ".")?.score, 1,
            "judged on facts, not on the data's wording")
        XCTAssertNil(judge.judge(prompt: [.user("What is the capital of Nowhere?")], answer: "Tolbek"))
    }

    func testWrittenFilesReadBackWithTheReaders() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-post-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        XCTAssertEqual(try TinyWorldPostTraining.write(to: folder, world: world), TinyWorldPostTraining.files)
        let chats = TinyWorldChats(world: world)
        XCTAssertEqual(try SFTDataset.read(folder.appendingPathComponent("sft.jsonl")).map(\.messages), chats.sft)
        let pairs = try PreferenceDataset.read(folder.appendingPathComponent("preferences.jsonl"))
        XCTAssertEqual(pairs.map(\.rejectedKind), chats.preferences.map(\.rejectedKind.rawValue))
        let prompts = try RLPromptDataset.read(folder.appendingPathComponent("rl_prompts.jsonl"))
        XCTAssertEqual(prompts.map(\.messages), chats.rlPrompts.map(\.prompt))
        XCTAssertEqual(prompts.first?.fields["answer"]?.stringValue, chats.rlPrompts.first?.answer)
        let evaluation = try RLPromptDataset.read(folder.appendingPathComponent("eval_questions.jsonl"))
        XCTAssertEqual(
            evaluation.filter { $0.fields["pretrain_only"] == .bool(true) }.count,
            chats.evaluation.filter(\.pretrainOnly).count)
        let first = try Data(contentsOf: folder.appendingPathComponent("sft.jsonl"))
        try TinyWorldPostTraining.write(to: folder, world: world)
        XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("sft.jsonl")), first, "same bytes every time")
    }
}
