import Core
import XCTest

@testable import Formats

final class TokenizerTests: XCTestCase {
    /// `tokenizer-cases.json`, made by `make_tokenizer_cases.py` with Hugging Face `tokenizers`.
    private struct Cases: Decodable {
        struct Case: Decodable {
            let tokenizer: String
            let text: String
            let ids: [Int]
            let ids_with_special_tokens: [Int]?
            let decoded: String?
            let decoded_skipping_special: String?
        }

        struct Decode: Decodable {
            let tokenizer: String
            let ids: [Int]
            let decoded: String
        }

        let tokenizers: [String: String]
        let cases: [Case]
        let decodes: [Decode]
    }

    private static let cases: Cases = {
        try! JSONDecoder().decode(Cases.self, from: Data(contentsOf: FixtureFiles.url("tokenizer-cases.json")))
    }()

    private static var loaded: [String: Tokenizer] = [:]

    private func tokenizer(_ name: String) throws -> Tokenizer {
        if let tokenizer = Self.loaded[name] { return tokenizer }
        let tokenizer = try Tokenizer(contentsOf: FixtureFiles.url(Self.cases.tokenizers[name]!))
        Self.loaded[name] = tokenizer
        return tokenizer
    }

    func testFixtureTokenizersGiveTheReferenceIDs() throws {
        for model in FixtureFiles.models {
            let tokenizer = try Tokenizer(contentsOf: FixtureFiles.url("\(model)/tokenizer.json"))
            for reference in try FixtureFiles.referenceCases(model) {
                XCTAssertEqual(tokenizer.encode(reference.text), reference.ids, "\(model): \(reference.text)")
                XCTAssertEqual(
                    tokenizer.decode(reference.ids, skipSpecialTokens: true), reference.decoded ?? reference.text, model
                )
            }
        }
    }

    func testEncodingMatchesHuggingFaceOnEveryCase() throws {
        XCTAssertEqual(Set(Self.cases.cases.map(\.tokenizer)).count, 10)
        for testCase in Self.cases.cases {
            let tokenizer = try tokenizer(testCase.tokenizer)
            let label = "\(testCase.tokenizer): \(testCase.text.debugDescription)"
            XCTAssertEqual(tokenizer.encode(testCase.text, addSpecialTokens: false), testCase.ids, label)
            XCTAssertEqual(tokenizer.encode(testCase.text), testCase.ids_with_special_tokens ?? testCase.ids, label)
        }
    }

    func testDecodingMatchesHuggingFace() throws {
        for testCase in Self.cases.cases {
            let tokenizer = try tokenizer(testCase.tokenizer)
            let label = "\(testCase.tokenizer): \(testCase.text.debugDescription)"
            let decoded = testCase.decoded ?? testCase.text
            XCTAssertEqual(tokenizer.decode(testCase.ids), decoded, label)
            XCTAssertEqual(
                tokenizer.decode(testCase.ids, skipSpecialTokens: true), testCase.decoded_skipping_special ?? decoded,
                label)
        }
        for testCase in Self.cases.decodes {
            XCTAssertEqual(
                try tokenizer(testCase.tokenizer).decode(testCase.ids), testCase.decoded,
                "\(testCase.tokenizer): \(testCase.ids)")
        }
    }

    /// Random text mixing scripts, emoji, combining marks, whitespace runs and newlines.
    static func randomText(_ random: inout SeededGenerator, length: Int) -> String {
        let pools: [[String]] = [
            ["a", "b", "Z", "q", "é", "ß", "ſ", "İ"], ["0", "7", "42", "١", "²"],
            [" ", "  ", "\n", "\n\n", "\t", "\r\n", " \n ", "\u{00A0}", "\u{3000}"],
            ["!", "?", ".", "'s", "'LL", "(", "\"", "-", "_", "#"], ["日", "本", "語", "中", "文", "한", "국"],
            ["😀", "🎉", "👍🏽", "❤️‍🔥", "🇫🇷", "👨‍👩‍👧"], ["e\u{0301}", "\u{0301}", "a\u{0308}", "\u{20DD}", "n\u{0303}"],
            ["п", "р", "и", "в", "γ", "ε", "ا", "ل", "न", "म"],
            ["\u{200B}", "\u{200D}", "\u{FEFF}", "\u{0085}", "\u{000B}", "\u{0000}", "\u{7F}"],
        ]
        var text = ""
        for _ in 0..<length {
            let pool = pools[Int(random.next() % UInt64(pools.count))]
            text += pool[Int(random.next() % UInt64(pool.count))]
        }
        return text
    }

    func testDecodeInvertsEncodeOnRandomUnicode() throws {
        var random = SeededGenerator(seed: 11)
        let names = ["gpt2-tiny", "llama-tiny", "llama3-style", "smollm-style", "sentencepiece-style"]
        for _ in 0..<150 {
            let text = Self.randomText(&random, length: Int(random.next() % 40))
            for name in names {
                let tokenizer = try tokenizer(name)
                XCTAssertEqual(
                    tokenizer.decode(tokenizer.encode(text, addSpecialTokens: false)), text,
                    "\(name): \(text.debugDescription)")
            }
            // Qwen2 normalizes to NFC first, so its round trip gives the NFC form.
            let qwen = try tokenizer("qwen2-style")
            XCTAssertEqual(
                qwen.decode(qwen.encode(text)), text.precomposedStringWithCanonicalMapping, text.debugDescription)
        }
    }

    func testSpecialTokensCanBeEncodedAsText() throws {
        let tokenizer = try tokenizer("llama-tiny")
        let text = "a<|im_end|>b"
        let parsed = tokenizer.encode(text)
        XCTAssertTrue(parsed.contains(3))
        let literal = tokenizer.encode(text, parseSpecialTokens: false)
        XCTAssertFalse(literal.contains(3))
        XCTAssertEqual(tokenizer.decode(literal), text)
    }

    func testVocabularyLookups() throws {
        let tokenizer = try tokenizer("llama-tiny")
        XCTAssertEqual(tokenizer.vocabularySize, 400)
        XCTAssertEqual(tokenizer.id(of: "<|im_start|>"), 2)
        XCTAssertEqual(tokenizer.token(of: 2), "<|im_start|>")
        XCTAssertEqual(tokenizer.id(of: "Ġ"), tokenizer.encode(" ", addSpecialTokens: false).first)
        XCTAssertEqual(
            tokenizer.specialTokens.map(\.content),
            ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"])
    }

    func testWrittenTokenizerLoadsBackAndEncodesIdentically() throws {
        var random = SeededGenerator(seed: 5)
        let texts = (0..<20).map { _ in Self.randomText(&random, length: 30) } + ["<|im_start|>user\nhi<|im_end|>"]
        for name in Self.cases.tokenizers.keys.sorted() {
            let original = try tokenizer(name)
            let data = original.jsonData()
            let reread = try Tokenizer(json: JSONValue.parse(data, file: name))
            XCTAssertEqual(reread.jsonData(), data, "\(name): writing is stable")
            XCTAssertEqual(reread.addedTokens, original.addedTokens)
            for text in texts {
                XCTAssertEqual(reread.encode(text), original.encode(text), "\(name): \(text.debugDescription)")
            }
        }
        let folder = try temporaryFolder(self)
        let url = folder.appendingPathComponent("tokenizer.json")
        try tokenizer("gpt2-tiny").write(to: url)
        XCTAssertEqual(
            try Tokenizer(contentsOf: url).encode("hello world"), try tokenizer("gpt2-tiny").encode("hello world"))
    }

    func testIgnoreMergesTakesWholePiecesFromTheVocabulary() throws {
        // "Ġqqq" is in the vocabulary but no merge builds it: only ignore_merges can produce it.
        func withWholeToken(ignoreMerges: Bool) throws -> Tokenizer {
            try Tokenizer(
                json: model { model in
                    var vocab = model["vocab"] as! [String: Int]
                    vocab["Ġqqq"] = 400
                    model["vocab"] = vocab
                    model["ignore_merges"] = ignoreMerges
                })
        }
        XCTAssertEqual(try withWholeToken(ignoreMerges: true).encode("a qqq"), [65, 400])
        let merged = try withWholeToken(ignoreMerges: false).encode("a qqq")
        XCTAssertEqual(merged.first, 65)
        XCTAssertFalse(merged.contains(400))
        XCTAssertEqual(try withWholeToken(ignoreMerges: false).decode(merged), "a qqq")
    }

    // MARK: Errors

    private func document(_ change: (inout [String: Any]) -> Void) throws -> JSONValue {
        let data = try Data(contentsOf: FixtureFiles.url("gpt2-tiny/tokenizer.json"))
        var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        change(&object)
        return try JSONValue.parse(JSONSerialization.data(withJSONObject: object), file: "tokenizer.json")
    }

    private func model(_ change: @escaping (inout [String: Any]) -> Void) throws -> JSONValue {
        try document { object in
            var model = object["model"] as! [String: Any]
            change(&model)
            object["model"] = model
        }
    }

    func testUnsupportedComponentsAreErrorsNamingThem() throws {
        assertFormatError(
            try Tokenizer(json: model { $0["type"] = "WordPiece" }), mentions: ["tokenizer.json", "'WordPiece'", "BPE"])
        assertFormatError(try Tokenizer(json: model { $0["type"] = "Unigram" }), mentions: ["'Unigram'"])
        assertFormatError(
            try Tokenizer(json: document { $0["pre_tokenizer"] = ["type": "BertPreTokenizer"] }),
            mentions: ["pre_tokenizer", "'BertPreTokenizer'"])
        assertFormatError(
            try Tokenizer(json: document { $0["normalizer"] = ["type": "BertNormalizer"] }),
            mentions: ["normalizer", "'BertNormalizer'"])
        assertFormatError(
            try Tokenizer(json: document { $0["decoder"] = ["type": "WordPiece"] }),
            mentions: ["decoder", "'WordPiece'"])
        assertFormatError(
            try Tokenizer(json: document { $0["post_processor"] = ["type": "Weird"] }),
            mentions: ["post_processor", "'Weird'"])
        assertFormatError(
            try Tokenizer(json: model { $0["continuing_subword_prefix"] = "##" }),
            mentions: ["continuing_subword_prefix", "##"])
        assertFormatError(try Tokenizer(json: model { $0["dropout"] = 0.1 }), mentions: ["dropout"])
    }

    /// An id far beyond the vocabulary's entries (a 16–34 GB table before) is an error naming it.
    func testHugeTokenIDsAreErrors() throws {
        assertFormatError(
            try Tokenizer(
                json: model { model in
                    var vocab = model["vocab"] as! [String: Any]
                    vocab["huge"] = 4_000_000_000
                    model["vocab"] = vocab
                }), mentions: ["model.vocab ids must be between 0 and", "found 4000000000"])
        assertFormatError(
            try Tokenizer(
                json: document { object in
                    object["added_tokens"] = [
                        ["id": 2_000_000_000, "content": "<big>", "special": true] as [String: Any]
                    ]
                }), mentions: ["added_tokens", "'<big>' id 2000000000"])
    }

    /// Patterns that could take exponential time (ICU backtracks) or normalizers that could
    /// multiply the text's length are refused as the file loads, naming them.
    func testCostlyPatternsAreRefused() throws {
        for pattern in ["(a+)+$", "(?:x|xx)*y", "((ab)*c)+", "(\\w+\\s?)*$"] {
            assertFormatError(
                try Tokenizer(
                    json: document { object in
                        object["pre_tokenizer"] =
                            [
                                "type": "Split", "pattern": ["Regex": pattern], "behavior": "Isolated", "invert": false,
                            ] as [String: Any]
                    }), mentions: ["exponential time"])
        }
        XCTAssertNil(PatternSafety.backtrackingProblem(in: SplitPattern.gpt2Regex))
        XCTAssertNil(PatternSafety.backtrackingProblem(in: SplitPattern.llama3Regex))
        XCTAssertNil(PatternSafety.backtrackingProblem(in: "(?:ab)+|[a-z]+"))
        let growing: [String: Any] = [
            "type": "Sequence",
            "normalizers": (0..<3).map { _ in
                ["type": "Replace", "pattern": ["String": "a"], "content": "aaaa"] as [String: Any]
            },
        ]
        assertFormatError(
            try Tokenizer(json: document { $0["normalizer"] = growing }), mentions: ["multiply a text's length by 64"])
        let empty: [String: Any] = ["type": "Replace", "pattern": ["Regex": "x*"], "content": "y"]
        assertFormatError(
            try Tokenizer(json: document { $0["normalizer"] = empty }), mentions: ["matches the empty string"])
    }

    func testBadMergesAreErrors() throws {
        assertFormatError(
            try Tokenizer(json: model { $0["merges"] = ["h e x"] }), mentions: ["merges[0]", "\"h e x\"", "two tokens"])
        assertFormatError(
            try Tokenizer(json: model { $0["merges"] = [["h", "☃"]] }),
            mentions: ["merge 0", "'☃'", "MergeTokenOutOfVocabulary"])
        assertFormatError(try Tokenizer(json: model { $0["merges"] = [3] }), mentions: ["merges[0]", "an integer"])
        let legacy = try Tokenizer(
            json: model { $0["merges"] = ($0["merges"] as! [[String]]).map { $0.joined(separator: " ") } })
        XCTAssertEqual(legacy.encode("the quick brown fox"), try tokenizer("gpt2-tiny").encode("the quick brown fox"))
    }
}
