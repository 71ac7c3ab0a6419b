import Datasets
import Formats
import Foundation
import Models
import TestSupport
import TinyWorld
import Training
import XCTest

/// The knowledge probe completes its prompts in batches exactly as one by one.
final class KnowledgeProbeTests: XCTestCase {
    func testBatchedCompletionsEqualSingleOnesAndAreScored() throws {
        let folder = HuggingFaceFixtures.folder("gpt2-tiny")
        let model = try ModelFolder.load(folder, device: TestDevices.reference(), trainable: false).model
        let tokenizer = try Tokenizer.load(fromPath: folder.path)
        // More probes than one batch holds, of different lengths.
        let subjects = ["Varn", "Oskel Drift", "Mu", "Quellenberg of the North", "Ta"]
        let lines = (0..<18).map { index -> String in
            let relation = Relation.allCases[index % Relation.allCases.count].rawValue
            return #"{"prompt": "The \#(relation) of \#(subjects[index % subjects.count]) is", "answer": "Mora", "#
                + #""relation": "\#(relation)", "pretrain_only": \#(index % 2 == 0)}"#
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("probes-\(getpid()).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)

        let result = try KnowledgeProbe.run(model, tokenizer: tokenizer, probesFile: file, maxTokens: 4)

        XCTAssertEqual(result.probes, lines.count)
        XCTAssertEqual(result.samples.count, 6)
        let generator = Generator(model: model)
        for sample in result.samples {
            let prompt = tokenizer.encode(sample.prompt, addSpecialTokens: false).map(Int32.init)
            let alone = try generator.generate(prompt, options: GenerationOptions(maxNewTokens: 4))
            XCTAssertEqual(sample.completion, tokenizer.decode(alone.tokens.map(Int.init)), sample.prompt)
        }
        XCTAssertTrue((0...1).contains(result.accuracy))
    }
}
