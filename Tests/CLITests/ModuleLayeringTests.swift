import Foundation
import XCTest

/// The module graph of ARCHITECTURE.md, read from the sources: every `import` of a project
/// module points to a lower layer, and no training code imports a backend. (SwiftPM lets a
/// module import anything its dependencies import, so the package manifest alone does not
/// keep the layers.)
final class ModuleLayeringTests: XCTestCase {
    /// Each module's layer; a module may import only modules of lower layers.
    private static let layers: [String: Int] = [
        "COpenCL": 0, "KernelSources": 0, "BuiltInRecipes": 0, "Core": 0,
        "ReferenceDevice": 1, "OpenCLDevice": 1, "Tensors": 1, "Formats": 1,
        "Optimizers": 2, "Models": 2, "Datasets": 2,
        "TinyWorld": 3, "Inference": 3, "Runtime": 3,
        "Training": 4, "AIFeedback": 4, "HumanFeedback": 4,
        "Pipeline": 5, "Benchmarking": 5, "Fuzzing": 5,
        "gputrain": 6,
    ]
    /// The modules that must stay device-agnostic.
    private static let deviceAgnostic = [
        "Tensors", "Optimizers", "Models", "Datasets", "TinyWorld", "Inference", "Training", "AIFeedback", "Pipeline",
        "HumanFeedback",
    ]
    private static let backends: Set = ["ReferenceDevice", "OpenCLDevice", "COpenCL"]

    private let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// (module, file, imported project module) for every import of a project module.
    private func imports() throws -> [(module: String, file: String, imported: String)] {
        var found: [(String, String, String)] = []
        for module in try FileManager.default.contentsOfDirectory(atPath: sources.path) where Self.layers[module] != nil
        {
            let folder = sources.appendingPathComponent(module)
            guard let files = FileManager.default.enumerator(atPath: folder.path) else { continue }
            for case let file as String in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n")
                where line.hasPrefix("import ") || line.hasPrefix("@testable import ") {
                    let imported = String(line.split(separator: " ").last!)
                    if Self.layers[imported] != nil { found.append((module, "\(module)/\(file)", imported)) }
                }
            }
        }
        return found
    }

    func testEveryModuleIsInTheGraph() throws {
        let modules = try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { !$0.hasPrefix(".") }
        for module in modules {
            XCTAssertNotNil(Self.layers[module], "Sources/\(module) is not in ARCHITECTURE.md's graph")
        }
    }

    func testImportsPointDown() throws {
        let found = try imports()
        XCTAssertFalse(found.isEmpty)
        for (module, file, imported) in found {
            XCTAssertLessThan(
                Self.layers[imported]!, Self.layers[module]!,
                "\(file) imports \(imported), which is not below \(module)")
        }
    }

    func testTrainingCodeNeverImportsABackend() throws {
        for (module, file, imported) in try imports() where Self.deviceAgnostic.contains(module) {
            XCTAssertFalse(Self.backends.contains(imported), "\(file) imports the backend \(imported)")
        }
    }
}
