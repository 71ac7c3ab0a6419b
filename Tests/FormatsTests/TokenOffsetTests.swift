import Formats
import Foundation
import XCTest

final class TokenOffsetTests: XCTestCase {
    private let texts = [
        "<|im_start|>user\nZürich? 🏔 naïve 日本語<|im_end|>\n", "Hello world, hello  world!\n\n 42 + 7 = 49.",
        "e\u{0301}\u{0301} 👨‍👩‍👧 x",
    ]

    func testOffsetsTileTheTextAndMatchEachTokensBytes() throws {
        var checked = 0
        for name in ["qwen2-style", "llama3-style", "gpt2-prefix-space", "sentencepiece-style", "metaspace-style"] {
            let tokenizer = try Tokenizer(contentsOf: FixtureFiles.url("tokenizers/\(name).json"))
            for text in texts {
                let ids = tokenizer.encode(text, addSpecialTokens: false)
                // (String == is canonical equivalence; offsets need the very same bytes.)
                guard Array(tokenizer.decode(ids).utf8) == Array(text.utf8) else { continue }
                let offsets = try tokenizer.byteOffsets(of: ids, in: text)
                XCTAssertEqual(offsets.count, ids.count)
                // Tokens sharing a range (parts of one character) are neighbours; distinct ranges tile the text.
                var distinct: [Range<Int>] = []
                for range in offsets where distinct.last != range { distinct.append(range) }
                XCTAssertEqual(distinct.first?.lowerBound, 0)
                XCTAssertEqual(
                    distinct.last?.upperBound, text.utf8.count, "\(name): offsets cover \(text.debugDescription)")
                for (left, right) in zip(distinct, distinct.dropFirst()) {
                    XCTAssertEqual(left.upperBound, right.lowerBound, name)
                }
                let bytes = Array(text.utf8)
                // Decoding the tokens up to a range's last one gives the text up to its end (prefixes,
                // since a SentencePiece token decodes differently alone).
                for (index, range) in offsets.enumerated()
                where index + 1 == offsets.count || offsets[index + 1] != range {
                    XCTAssertEqual(
                        Array(tokenizer.decode(Array(ids[...index])).utf8), Array(bytes[..<range.upperBound]),
                        "\(name): token \(index)")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 10, "most texts round-trip")
    }

    func testTextTheTokensDoNotReproduceIsAnError() throws {
        let tokenizer = try Tokenizer(contentsOf: FixtureFiles.url("tokenizers/qwen2-style.json"))
        let ids = tokenizer.encode("abc", addSpecialTokens: false)
        assertFormatError(try tokenizer.byteOffsets(of: ids, in: "abd"), mentions: ["does not give back the text"])
    }
}
