import Foundation
import XCTest

/// A model family's knowledge stays in its files: no source file outside `GPT2*.swift` and
/// `Llama*.swift` compares or switches on a model type (ARCHITECTURE.md, "How to add a model
/// family"). The tokenizer's split patterns (`SplitPattern`, and the GGUF vocabulary that maps
/// them to llama.cpp's pre-tokenizer names) are exempt: they are tokenizer kinds that carry the
/// names of the models that introduced them, not model families.
final class FamilyBranchingTests: XCTestCase {
    private let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    private static let tokenizerFiles = ["Formats/Tokenizer/", "Formats/GGUF/GGUFVocabulary.swift"]

    func testOnlyFamilyFilesBranchOnTheModelType() throws {
        let branch = try NSRegularExpression(
            pattern: #"(\bcase\b|==|!=)\s*\(?\s*\.(gpt2|llama|qwen2|mistral)\b"#)
        var found: [String] = []
        guard let files = FileManager.default.enumerator(atPath: sources.path) else { return XCTFail("no Sources") }
        for case let file as String in files where file.hasSuffix(".swift") {
            let name = (file as NSString).lastPathComponent
            if name.hasPrefix("GPT2") || name.hasPrefix("Llama") || Self.tokenizerFiles.contains(where: file.hasPrefix)
            {
                continue
            }
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = String(line)
                if branch.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil {
                    found.append("\(file):\(number + 1): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        XCTAssertEqual(found, [], "branching on the model family outside its files")
    }
}
