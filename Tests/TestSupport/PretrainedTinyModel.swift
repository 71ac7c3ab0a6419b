import Foundation
import XCTest

extension XCTestCase {
    /// A smoke-size tiny world in `root/tiny` and a model pretrained on it for one step in
    /// `root/base` (128 positions, room for chats); returns the model folder.
    public func pretrainedTinyModel(in root: URL, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let recipe = try SmokeRecipe.pretrain(
            in: root, world: root.appendingPathComponent("tiny"), steps: 1, maxPositions: 128)
        let run = root.appendingPathComponent("base")
        let result = try CommandRunner.run(["pretrain", "--config", recipe.path, "--out", run.path])
        XCTAssertEqual(result.status, 0, result.standardError, file: file, line: line)
        return run.appendingPathComponent("final")
    }
}
