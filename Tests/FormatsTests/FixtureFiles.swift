import Formats
import Foundation
import TestSupport
import XCTest

/// The Hugging Face reference fixtures copied into this test target's `Fixtures` folder.
enum FixtureFiles {
    /// The tiny models, one folder each.
    static let models = HuggingFaceFixtures.models

    /// The URL of `path` inside `Fixtures`.
    static func url(_ path: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(path)
    }

    /// One text with the ids Hugging Face `tokenizers` gives it (from `reference.json`), and its
    /// decoding of them without special tokens when that is not the text.
    struct ReferenceCase: Decodable {
        let text: String
        let ids: [Int]
        let decoded: String?
    }

    /// The reference cases of `model`.
    static func referenceCases(_ model: String) throws -> [ReferenceCase] {
        struct File: Decodable { let cases: [ReferenceCase] }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url("\(model)/reference.json"))).cases
    }
}

/// A fresh empty folder under the system temporary folder, removed when the test ends.
func temporaryFolder(_ testCase: XCTestCase) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("formats-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
    return folder
}

/// Asserts that `body` throws a `FormatError` whose message contains every one of `phrases`.
func assertFormatError<T>(
    _ body: @autoclosure () throws -> T, mentions phrases: [String], file: StaticString = #filePath, line: UInt = #line
) {
    do {
        _ = try body()
        XCTFail("expected an error mentioning \(phrases)", file: file, line: line)
    } catch let error as FormatError {
        for phrase in phrases where !error.description.contains(phrase) {
            XCTFail("error \"\(error)\" does not mention \"\(phrase)\"", file: file, line: line)
        }
    } catch {
        XCTFail("expected a FormatError, got \(error)", file: file, line: line)
    }
}
