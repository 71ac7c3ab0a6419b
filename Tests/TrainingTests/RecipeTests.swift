import Foundation
@testable import Training
import XCTest

/// Every recipe in configs/ reads without errors.
final class RecipeTests: XCTestCase {
    func testEveryShippedConfigLoads() throws {
        let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs")
        let files = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter { $0.hasSuffix("-pretrain.yaml") || $0 == "gpt2-small.yaml" || $0 == "llama-small.yaml" }
        XCTAssertEqual(Set(files), ["tiny-world-pretrain.yaml", "gpt2-small.yaml", "llama-small.yaml"])
        for file in files {
            let config = try ConfigLoader.load(PretrainConfig.self, from: configs.appendingPathComponent(file))
            XCTAssertNoThrow(try config.modelConfig(vocabSize: 1024, endOfText: 0), file)
        }
    }
}
