import Foundation
import XCTest

@testable import Training

/// A small configuration shaped like the real ones (sections of typed fields).
private struct ExampleConfig: Configuration, Equatable {
    struct Model: Codable, Equatable {
        var layers = 2
        var width = 64
        var tieEmbeddings = true
    }
    struct Optim: Codable, Equatable {
        var learningRate = 3e-4
        var betas = [0.9, 0.95]
    }
    var name = "example"
    var model = Model()
    var optim = Optim()
}

final class ConfigLoaderTests: XCTestCase {
    private func write(_ yaml: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "config-\(getpid())-\(name.hashValue).yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testFileOverridesDefaultsAndSetOverridesFile() throws {
        let url = try write("model:\n  layers: 4\noptim:\n  learning_rate: 0.001\n")
        let config = try ConfigLoader.load(
            ExampleConfig.self, from: url, overrides: ["model.width=128", "optim.learning_rate=0.002"])
        var expected = ExampleConfig()
        expected.model.layers = 4
        expected.model.width = 128
        expected.optim.learningRate = 0.002
        XCTAssertEqual(config, expected)
        XCTAssertEqual(try ConfigLoader.load(ExampleConfig.self, from: nil as URL?), ExampleConfig())
    }

    func testKeysAreSnakeCaseInYAML() throws {
        let url = try write("model:\n  tie_embeddings: false\n")
        XCTAssertFalse(try ConfigLoader.load(ExampleConfig.self, from: url).model.tieEmbeddings)
        let camel = try write("model:\n  tieEmbeddings: false\n")
        XCTAssertThrowsError(try ConfigLoader.load(ExampleConfig.self, from: camel)) { error in
            XCTAssertTrue("\(error)".contains("did you mean 'tie_embeddings'?"), "\(error)")
        }
    }

    func testUnknownKeyNamesFileLineAndSuggestsTheClosest() throws {
        let url = try write("model:\n  layers: 4\n  widht: 32\n")
        XCTAssertThrowsError(try ConfigLoader.load(ExampleConfig.self, from: url)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("\(url.path):3: "), text)
            XCTAssertTrue(text.contains("unknown key 'model.widht'"), text)
            XCTAssertTrue(text.contains("did you mean 'width'?"), text)
        }
        XCTAssertThrowsError(try ConfigLoader.load(ExampleConfig.self, from: nil as URL?, overrides: ["optim.lr=1"])) {
            error in
            XCTAssertTrue("\(error)".contains("--set optim.lr=1"), "\(error)")
        }
    }

    func testWrongTypeNamesKeyLineAndExpectedType() throws {
        let url = try write("name: run\nmodel:\n  layers: many\n")
        XCTAssertThrowsError(try ConfigLoader.load(ExampleConfig.self, from: url)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(":3: "), text)
            XCTAssertTrue(text.contains("'model.layers' must be an integer, got 'many'"), text)
        }
        let section = try write("model: 3\n")
        XCTAssertThrowsError(try ConfigLoader.load(ExampleConfig.self, from: section)) { error in
            XCTAssertTrue("\(error)".contains("'model' must be a section"), "\(error)")
        }
    }

    func testMalformedYAMLAndMissingFileAreClearErrors() throws {
        let url = try write("model: [unclosed\n")
        XCTAssertThrowsError(try ConfigLoader.load(ExampleConfig.self, from: url)) { error in
            XCTAssertTrue("\(error)".contains("not valid YAML"), "\(error)")
        }
        XCTAssertThrowsError(try ConfigLoader.load(ExampleConfig.self, from: URL(fileURLWithPath: "/nonexistent.yaml")))
        {
            XCTAssertTrue("\($0)".contains("cannot read"), "\($0)")
        }
    }
}
