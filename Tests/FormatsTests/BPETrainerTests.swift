import Core
import Formats
import XCTest

final class BPETrainerTests: XCTestCase {
    /// Deterministic English-like text: sentences from a small vocabulary with punctuation,
    /// numbers, newlines and the odd non-ASCII word.
    static func corpus(lines: Int, seed: UInt64 = 1) -> [String] {
        let words = """
            the a an of to and in is it you that he she was for on are with as his her they be at one have this \
            from or had by word but what some we can out other were all there when up use your how said each \
            which do their time if will way about many then them write would like so these long make thing see \
            him two has look more day could go come did number sound no most people my over know water than call \
            first who may down side been now find café naïve 東京 über
            """.split(separator: " ").map(String.init)
        var random = SeededGenerator(seed: seed)
        return (0..<lines).map { _ in
            var sentence: [String] = []
            for index in 0..<(3 + Int(random.next() % 12)) {
                var word = words[Int(random.next() % UInt64(words.count))]
                if index == 0 { word = word.prefix(1).uppercased() + word.dropFirst() }
                sentence.append(word)
                if random.next() % 17 == 0 { sentence.append(String(random.next() % 2000)) }
            }
            let end = [".", ".", "!", "?", "...", ":\n"][Int(random.next() % 6)]
            return sentence.joined(separator: " ") + end + (random.next() % 4 == 0 ? "\n\n" : " ")
        }
    }

    func testIDsAreSpecialsThenBytesThenMerges() throws {
        let tokenizer = try Tokenizer.train(texts: Self.corpus(lines: 300), vocabSize: 400)
        XCTAssertEqual(tokenizer.vocabularySize, 400)
        XCTAssertEqual(tokenizer.specialTokens.map(\.content), BPETrainer.defaultSpecialTokens)
        XCTAssertEqual(tokenizer.specialTokens.map(\.id), [0, 1, 2, 3])
        XCTAssertEqual(tokenizer.token(of: 4), "!")
        XCTAssertEqual(tokenizer.token(of: 4 + 255), "Ń", "the last byte character (U+0143)")
        XCTAssertEqual(tokenizer.encode("<|im_start|>hi<|im_end|>").first, 1)
        XCTAssertEqual(tokenizer.encode("<|im_start|>hi<|im_end|>").last, 2)
        XCTAssertNotNil(tokenizer.id(of: "Ġthe"), "the most frequent word is learned")
    }

    func testMergesFollowCountsWithTiesToTheSmallestPair() throws {
        let tokenizer = try Tokenizer.train(texts: ["ab ab ab cd cd"], vocabSize: 1000, specialTokens: [])
        let merges = try XCTUnwrap(tokenizer.json().objectValue?["model"]?.objectValue?["merges"]?.arrayValue)
        // (a,b) occurs 3 times. Then (c,d), (Ġ,c) and (Ġ,ab) occur twice each: (c,d) has the smallest
        // left id and its merge removes (Ġ,c); (Ġ,ab) then beats (Ġ,cd) because 'ab' has the smaller id.
        XCTAssertEqual(merges, [["a", "b"], ["c", "d"], ["Ġ", "ab"], ["Ġ", "cd"]])
        XCTAssertEqual(tokenizer.encode(" ab cd"), [tokenizer.id(of: "Ġab")!, tokenizer.id(of: "Ġcd")!])
    }

    func testTrainingIsDeterministicAndRoundTrips() throws {
        let texts = Self.corpus(lines: 400)
        let first = try Tokenizer.train(texts: texts, vocabSize: 600)
        let second = try Tokenizer.train(texts: texts, vocabSize: 600)
        XCTAssertEqual(first.jsonData(), second.jsonData())
        var random = SeededGenerator(seed: 3)
        let samples = texts.prefix(50) + (0..<50).map { _ in TokenizerTests.randomText(&random, length: 30) }
        for text in samples {
            XCTAssertEqual(first.decode(first.encode(text)), text, text.debugDescription)
        }
        let joined = texts.joined()
        XCTAssertLessThan(first.encode(joined).count, joined.utf8.count / 2, "merges compress the training text")
    }

    func testTrainedTokenizerWritesAndLoadsBack() throws {
        let texts = Self.corpus(lines: 200)
        let tokenizer = try Tokenizer.train(texts: texts, vocabSize: 500)
        let url = try temporaryFolder(self).appendingPathComponent("tokenizer.json")
        try tokenizer.write(to: url)
        let loaded = try Tokenizer(contentsOf: url)
        XCTAssertEqual(loaded.jsonData(), tokenizer.jsonData())
        for text in texts.prefix(40) { XCTAssertEqual(loaded.encode(text), tokenizer.encode(text)) }
    }

    func testSpecialTokensInTheTextAreNotLearned() throws {
        let texts = (0..<50).map {
            "<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\nhi \($0)<|im_end|>"
        }
        let tokenizer = try Tokenizer.train(texts: texts, vocabSize: 330)
        XCTAssertNil(tokenizer.id(of: "im"))
        XCTAssertNil(tokenizer.id(of: "<|"))
        XCTAssertEqual(tokenizer.decode(tokenizer.encode(texts[7])), texts[7])
    }

    func testStopsWhenNoPairIsFrequentEnough() throws {
        let tokenizer = try Tokenizer.train(texts: ["abcdef"], vocabSize: 1000, specialTokens: [], minimumFrequency: 2)
        XCTAssertEqual(tokenizer.vocabularySize, 256)
    }

    func testRejectsBadSettings() {
        XCTAssertThrowsError(try BPETrainer(vocabularySize: 100)) { error in
            XCTAssertTrue("\(error)".contains("smaller than the 256 byte tokens"), "\(error)")
        }
        XCTAssertThrowsError(try BPETrainer(vocabularySize: 1000, specialTokens: ["<a>", "<a>"])) { error in
            XCTAssertTrue("\(error)".contains("distinct"), "\(error)")
        }
    }
}
