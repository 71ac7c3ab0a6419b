import Foundation
import XCTest

@testable import Pipeline
@testable import Training

/// The shipped recipes: every file in configs/ is built into the binary with the same text and
/// loads as the recipe of its command; `recipe:` starts a section from another recipe.
final class RecipeTests: XCTestCase {
    private let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("configs")

    func testEveryShippedRecipeIsBuiltInWithTheSameText() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: configs.path).filter { $0.hasSuffix(".yaml") }
        XCTAssertEqual(Set(files.map { String($0.dropLast(5)) }), Set(RecipeSource.builtInNames))
        for file in files {
            let builtIn = try XCTUnwrap(RecipeSource.builtIn(file), file)
            XCTAssertEqual(
                builtIn.text, try String(contentsOf: configs.appendingPathComponent(file), encoding: .utf8), file)
        }
    }

    func testEveryBuiltInRecipeLoadsAsItsCommandsRecipe() throws {
        func load<T: Configuration>(_: T.Type, _ name: String) throws {
            XCTAssertNoThrow(try ConfigLoader.load(T.self, from: XCTUnwrap(RecipeSource.builtIn(name))), name)
        }
        for name in RecipeSource.builtInNames {
            switch name {
            case "tiny-world", "smoke": try load(PipelineConfig.self, name)
            case "tiny-world-pretrain", "gpt2-small", "llama-small": try load(PretrainConfig.self, name)
            case "tiny-world-sft", "tiny-world-sft-lora": try load(SFTConfig.self, name)
            case "tiny-world-reward": try load(RewardConfig.self, name)
            case "tiny-world-dpo": try load(DPOConfig.self, name)
            case "tiny-world-ppo": try load(PPOConfig.self, name)
            case "tiny-world-grpo": try load(GRPOConfig.self, name)
            default: XCTFail("built-in recipe \(name) has no command here: add it to this test")
            }
        }
    }

    /// The pipeline's sections take their stage's recipe; the keys beside `recipe:` change it.
    func testPipelineSectionsStartFromTheStageRecipes() throws {
        let pipeline = try ConfigLoader.load(PipelineConfig.self, from: RecipeSource.named("tiny-world"))
        let dpo = try ConfigLoader.load(DPOConfig.self, from: RecipeSource.named("tiny-world-dpo"))
        XCTAssertEqual(pipeline.dpo.loss, dpo.loss)
        XCTAssertEqual(pipeline.dpo.train.steps, dpo.train.steps)
        XCTAssertEqual(pipeline.dpo.train.evalEvery, 40)
        XCTAssertNotEqual(dpo.train.evalEvery, 40)
        XCTAssertEqual(pipeline.ppo, try ConfigLoader.load(PPOConfig.self, from: RecipeSource.named("tiny-world-ppo")))
        XCTAssertEqual(
            pipeline.pretrain.model,
            try ConfigLoader.load(PretrainConfig.self, from: RecipeSource.named("tiny-world-pretrain")).model)
    }

    func testRecipeIncludesResolveBesideTheFileAndNameTheirErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "recipe-include-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "train:\n  steps: 7\n  batch_size: 3\noptim:\n  learning_rate: 0.5\n".write(
            to: folder.appendingPathComponent("mine.yaml"), atomically: true, encoding: .utf8)
        let pipelineURL = folder.appendingPathComponent("pipeline.yaml")
        try "sft:\n  recipe: mine.yaml\n  train:\n    steps: 9\n".write(
            to: pipelineURL, atomically: true, encoding: .utf8)
        let pipeline = try ConfigLoader.load(PipelineConfig.self, from: pipelineURL)
        XCTAssertEqual(pipeline.sft.train.steps, 9)
        XCTAssertEqual(pipeline.sft.train.batchSize, 3)
        XCTAssertEqual(pipeline.sft.optim.learningRate, 0.5)

        try "sft:\n  recipe: nowhere-sft\n".write(to: pipelineURL, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigLoader.load(PipelineConfig.self, from: pipelineURL)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("\(pipelineURL.path):2: 'sft.recipe' names 'nowhere-sft'"), message)
            XCTAssertTrue(message.contains("tiny-world-sft"), message)
        }
        try "sft:\n  recipe: mine.yaml\n".write(to: pipelineURL, atomically: true, encoding: .utf8)
        try "train:\n  stepz: 7\n".write(
            to: folder.appendingPathComponent("mine.yaml"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigLoader.load(PipelineConfig.self, from: pipelineURL)) { error in
            let message = "\(error)"
            XCTAssertTrue(
                message.hasPrefix(
                    folder.appendingPathComponent("mine.yaml").path + ":2: unknown key 'sft.train.stepz'"), message)
        }
    }

    /// A recipe that includes itself, directly or through another, is an error naming the chain.
    func testRecipeIncludeCyclesAreErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recipe-cycle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a.yaml")
        let b = folder.appendingPathComponent("b.yaml")
        try "recipe: b.yaml\n".write(to: a, atomically: true, encoding: .utf8)
        try "recipe: a.yaml\n".write(to: b, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigLoader.load(SFTConfig.self, from: a)) { error in
            XCTAssertTrue(
                "\(error)".contains("includes itself through 'recipe:' (\(a.path) → \(b.path) → \(a.path))"), "\(error)"
            )
        }
        try "sft:\n  recipe: a.yaml\n".write(to: b, atomically: true, encoding: .utf8)
        try "train:\n  steps: 2\n".write(to: a, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ConfigLoader.load(PipelineConfig.self, from: b).sft.train.steps, 2)
    }

    func testAMissingRecipeListsTheBuiltInOnes() {
        XCTAssertThrowsError(try RecipeSource.named("tiny-wrld")) { error in
            XCTAssertTrue(
                "\(error)".contains("no built-in recipe of that name") && "\(error)".contains("tiny-world-dpo"),
                "\(error)")
        }
    }
}
