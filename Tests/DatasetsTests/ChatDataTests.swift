import Datasets
import Formats
import Foundation
import XCTest

final class ChatDataTests: XCTestCase {
    /// A small byte-level tokenizer with the ChatML and Llama 3 special tokens (pad shares `<|im_end|>`'s role in tests).
    private static let tokenizer: Tokenizer = try! Tokenizer.train(
        texts: [
            "What is the capital of Varn? The capital of Varn is Tolbek.", "Answer in one word. Tolbek Zürich 🏔",
            "user assistant system",
        ],
        vocabSize: 300,
        specialTokens: [
            "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>",
            "<|end_header_id|>", "<|eot_id|>",
        ],
        minimumFrequency: 1)

    private let conversation: [ChatMessage] = [
        .system("Answer in one word."), .user("What is the capital of Varn?"), .assistant("Tolbek"), .user("Zürich?"),
        .assistant(" 🏔 Zürich! "),
    ]

    /// The trained text of `example`, checked against `expected`, with the marked example in the message.
    private func assertTrained(
        _ example: ChatExample, _ expected: [String], file: StaticString = #filePath, line: UInt = #line
    ) {
        let marked = example.marked(with: Self.tokenizer)
        let trained = marked.components(separatedBy: "[[").dropFirst().map { $0.components(separatedBy: "]]")[0] }
        XCTAssertEqual(trained, expected, "marked example: \(marked)", file: file, line: line)
    }

    func testMasksCoverExactlyAssistantContentAndEndOfTurn() throws {
        let chatML = try ChatEncoder(tokenizer: Self.tokenizer, template: .chatML)
        let example = try chatML.encode(conversation)
        XCTAssertEqual(
            example.ids, Self.tokenizer.encode(ChatTemplate.chatML.render(conversation).text, addSpecialTokens: false),
            "the full text is tokenized once")
        assertTrained(example, ["Tolbek<|im_end|>", " 🏔 Zürich! <|im_end|>"])
        XCTAssertEqual(
            example.labels.filter { $0 != ChatExample.ignoredLabel }.filter { $0 == chatML.endOfTurnID }.count, 2)
        XCTAssertEqual(example.promptLength, example.labels.firstIndex { $0 != ChatExample.ignoredLabel })
        assertTrained(try chatML.encode(conversation, trainedFrom: 3), [" 🏔 Zürich! <|im_end|>"])

        let llama = try ChatEncoder(tokenizer: Self.tokenizer, template: .llama3)
        assertTrained(try llama.encode(conversation), ["Tolbek<|eot_id|>", "🏔 Zürich!<|eot_id|>"])
        var everything = chatML
        everything.scope = .allTokens
        XCTAssertEqual(try everything.encode(conversation).labels, example.ids)
    }

    func testEndOfTurnIsTrainedWhenPadIsEndOfTurn() throws {
        let encoder = try ChatEncoder(tokenizer: Self.tokenizer, template: .chatML)
        let example = try encoder.encode([.user("Hi"), .assistant("Tolbek")])
        let padded = example.padded(to: example.ids.count + 3, padID: encoder.endOfTurnID)
        let realEnd = example.ids.lastIndex(of: encoder.endOfTurnID)!
        XCTAssertEqual(padded.labels[realEnd], encoder.endOfTurnID, "the real <|im_end|> keeps its label")
        XCTAssertEqual(Array(padded.labels.suffix(3)), [-100, -100, -100])
        XCTAssertEqual(padded.attentionMask, Array(repeating: 1, count: example.ids.count) + [0, 0, 0])
    }

    func testTokenizerWithoutTemplateTokensIsRejected() throws {
        let plain = try Tokenizer.train(
            texts: ["hello"], vocabSize: 260, specialTokens: ["<|endoftext|>"], minimumFrequency: 1)
        XCTAssertThrowsError(try ChatEncoder(tokenizer: plain, template: .chatML)) { error in
            XCTAssertTrue("\(error)".contains("<|im_start|>"), "\(error)")
        }
    }

    func testLengthLimitsCutPromptsFromTheLeftAndDropWhatStillDoesNotFit() throws {
        let encoder = try ChatEncoder(tokenizer: Self.tokenizer, template: .chatML)
        let example = try encoder.encode([
            .user("What is the capital of Varn? What is the capital of Varn?"), .assistant("Tolbek"),
        ])
        let completion = example.ids.count - example.promptLength
        var filter = ChatLengthFilter(limits: ChatLengthLimits(maxLength: completion + 4, maxPromptLength: 4))
        let fitted = try XCTUnwrap(filter.fit(example))
        XCTAssertEqual(fitted.ids, Array(example.ids.suffix(completion + 4)))
        XCTAssertEqual(fitted.trainedCount, example.trainedCount, "the answer is never cut")
        XCTAssertNil(
            filter.fit(try encoder.encode([.user("Hi"), .assistant(String(repeating: "Tolbek ", count: 20))])))
        let pair = try encoder.encode(
            PreferencePair(
                prompt: [.user("What is the capital of Varn?")], chosen: [.assistant("Tolbek")],
                rejected: [.assistant(String(repeating: "Zürich ", count: 30))]))
        XCTAssertNil(filter.fit(pair), "a pair goes when either side does not fit")
        XCTAssertEqual(filter.fit(prompt: Array(repeating: 5, count: 10))?.count, 4)
        XCTAssertEqual(filter.report.seen, 4)
        XCTAssertEqual(filter.report.kept, 2)
        XCTAssertEqual(filter.report.dropped, 2)
        XCTAssertEqual(filter.report.promptsTruncated, 2)
    }

    func testReadersAcceptEveryFormat() throws {
        let folder = try temporaryFolder()
        let sft = try write(
            folder, "sft.jsonl",
            [
                #"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}"#, "",
                #"{"prompt": "Hi", "completion": "Yo"}"#,
            ])
        XCTAssertEqual(
            try SFTDataset.read(sft),
            [
                SFTConversation(messages: [.user("Hi"), .assistant("Yo")]),
                SFTConversation(messages: [.user("Hi"), .assistant("Yo")], trainedFrom: 1),
            ])
        let preferences = try write(
            folder, "pref.jsonl",
            [
                #"{"prompt": "Hi", "chosen": "Yo", "rejected": "No"}"#,
                #"{"prompt": [{"role": "user", "content": "Hi"}], "chosen": [{"role": "assistant", "content": "Yo"}], "rejected": "No", "rejected_kind": "padded"}"#,
            ])
        let pairs = try PreferenceDataset.read(preferences)
        XCTAssertEqual(
            pairs[0], PreferencePair(prompt: [.user("Hi")], chosen: [.assistant("Yo")], rejected: [.assistant("No")]))
        XCTAssertEqual(pairs[1].rejectedKind, "padded")
        let prompts = try RLPromptDataset.read(
            try write(
                folder, "rl.jsonl",
                [
                    #"{"prompt": "Hi", "answer": "4"}"#,
                    #"{"messages": [{"role": "user", "content": "Hi"}]}"#,
                ]))
        XCTAssertEqual(prompts.map(\.messages), [[.user("Hi")], [.user("Hi")]])
        XCTAssertEqual(prompts[0].fields["answer"], .string("4"))
    }

    /// Files saved with CRLF line ends read as with LF; a line that is not UTF-8 is an error naming
    /// the file and the line, in every reader (no silent replacement character).
    func testCRLFIsALineEndAndInvalidUTF8IsAnError() throws {
        let folder = try temporaryFolder()
        let lines = [
            #"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}"#,
            #"{"prompt": "Hi", "completion": "Yo"}"#,
        ]
        let unix = try write(folder, "unix.jsonl", lines)
        let windows = folder.appendingPathComponent("windows.jsonl")
        try Data((lines.joined(separator: "\r\n") + "\r\n").utf8).write(to: windows)
        XCTAssertEqual(try SFTDataset.read(windows), try SFTDataset.read(unix))

        var bad = Data((lines[0] + "\n").utf8)
        bad += Data(#"{"prompt": "Hi"#.utf8) + Data([0xFF, 0xFE]) + Data(#"", "completion": "Yo"}"#.utf8)
        let invalid = folder.appendingPathComponent("invalid.jsonl")
        try bad.write(to: invalid)
        let readers: [(URL) throws -> Any] = [
            SFTDataset.read, PreferenceDataset.read, RLPromptDataset.read, TextDocuments.read,
        ]
        for read in readers {
            XCTAssertThrowsError(try read(invalid)) { error in
                XCTAssertTrue("\(error)".contains("invalid.jsonl: line 2: not valid UTF-8 (at byte 15"), "\(error)")
            }
        }
    }

    func testMalformedLinesNameFileLineAndWhatWasExpected() throws {
        let folder = try temporaryFolder()
        let cases: [(String, (URL) throws -> Any, String)] = [
            (#"{"prompt": "Hi", "chosen": "Yo"}"#, PreferenceDataset.read, #"missing "rejected""#),
            (#"{"messages": [{"role": "user", "content": "Hi"}]}"#, SFTDataset.read, "no assistant turn"),
            (#"{"messages": [{"role": "bot", "content": "Hi"}]}"#, SFTDataset.read, #"unknown role "bot""#),
            (
                #"{"messages": [{"role": "user"}]}"#, SFTDataset.read,
                #"messages[0] is missing the string field "content""#
            ),
            (#"{"text": "Hi"}"#, SFTDataset.read, #"expected "messages""#),
            (
                #"{"prompt": "Hi", "completion": [{"role": "user", "content": "x"}]}"#, SFTDataset.read,
                "assistant messages only"
            ),
            ("[1, 2]", RLPromptDataset.read, "not a JSON object"),
            (#"{"prompt": "Hi"#, RLPromptDataset.read, "not valid JSON"),
            (
                #"{"prompt": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}"#,
                RLPromptDataset.read, "ends with an assistant turn"
            ),
            (#"{"prompt": 3}"#, RLPromptDataset.read, "should be a string or a list"),
        ]
        for (index, (line, read, phrase)) in cases.enumerated() {
            let url = try write(
                folder, "bad\(index).jsonl",
                [
                    #"{"prompt": "Hi", "chosen": "a", "rejected": "b", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}"#,
                    line,
                ])
            XCTAssertThrowsError(try read(url)) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("\(url.path):2: "), message)
                XCTAssertTrue(message.contains(phrase), "\(message) should mention \(phrase)")
            }
        }
    }

    func testSoftLabelsAndUnpairedCompletionsAreReadAndChecked() throws {
        let folder = try temporaryFolder()
        let soft = try write(
            folder, "soft.jsonl",
            [
                #"{"prompt": "Hi", "chosen": "Yo", "rejected": "No", "chosen_probability": 0.75}"#,
                #"{"prompt": "Hi", "chosen": "Yo", "rejected": "No"}"#,
            ])
        XCTAssertEqual(try PreferenceDataset.read(soft).map(\.chosenProbability), [0.75, nil])
        let unpaired = try write(
            folder, "kto.jsonl",
            [
                #"{"prompt": "Hi", "completion": "Yo", "label": true}"#,
                #"{"prompt": [{"role": "user", "content": "Hi"}], "completion": [{"role": "assistant", "content": "No"}], "label": false}"#,
            ])
        XCTAssertEqual(
            try UnpairedPreferenceDataset.read(unpaired),
            [
                LabelledCompletion(prompt: [.user("Hi")], completion: [.assistant("Yo")], desirable: true),
                LabelledCompletion(prompt: [.user("Hi")], completion: [.assistant("No")], desirable: false),
            ])
        let cases: [(String, String, (URL) throws -> Any, String)] = [
            (
                #"{"prompt": "Hi", "chosen": "a", "rejected": "b"}"#,
                #"{"prompt": "Hi", "chosen": "a", "rejected": "b", "chosen_probability": 1.5}"#,
                PreferenceDataset.read, #""chosen_probability" should be a number in [0, 1]"#
            ),
            (
                #"{"prompt": "Hi", "chosen": "a", "rejected": "b"}"#,
                #"{"prompt": "Hi", "chosen": "a", "rejected": "b", "chosen_probability": "high"}"#,
                PreferenceDataset.read, "found a string"
            ),
            (
                #"{"prompt": "Hi", "completion": "a", "label": true}"#, #"{"prompt": "Hi", "completion": "a"}"#,
                UnpairedPreferenceDataset.read, #"missing "label""#
            ),
            (
                #"{"prompt": "Hi", "completion": "a", "label": true}"#,
                #"{"prompt": "Hi", "completion": "a", "label": 1}"#, UnpairedPreferenceDataset.read,
                "should be true (desirable) or false (undesirable), found an integer"
            ),
            (
                #"{"prompt": "Hi", "completion": "a", "label": true}"#, #"{"prompt": "", "label": true}"#,
                UnpairedPreferenceDataset.read, #"missing "completion""#
            ),
        ]
        for (index, (good, bad, read, phrase)) in cases.enumerated() {
            let url = try write(folder, "bad-label\(index).jsonl", [good, bad])
            XCTAssertThrowsError(try read(url)) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("\(url.path):2: "), message)
                XCTAssertTrue(message.contains(phrase), "\(message) should mention \(phrase)")
            }
        }
    }

    private func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("chat-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    private func write(_ folder: URL, _ name: String, _ lines: [String]) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try Data(lines.joined(separator: "\n").utf8).write(to: url)
        return url
    }
}
