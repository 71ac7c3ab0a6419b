import Core
import Formats
import Foundation
import Yams

/// One written principle the feedback model judges by, in the form of Anthropic's Constitutional
/// AI paper (Bai et al., arXiv:2212.08073, appendix C): a request to critique an answer under it,
/// a request to revise the answer by the critique, and a question that compares two answers.
public struct Principle: Equatable, Sendable, Codable {
    public var name: String
    public var critiqueRequest: String
    public var revisionRequest: String
    public var comparisonQuestion: String

    public init(name: String, critiqueRequest: String, revisionRequest: String, comparisonQuestion: String) {
        self.name = name
        self.critiqueRequest = critiqueRequest
        self.revisionRequest = revisionRequest
        self.comparisonQuestion = comparisonQuestion
    }
}

/// The principles of `constitution.yaml`:
///
///     principles:
///       - name: concise
///         critique_request: Identify ways in which the answer is longer than it needs to be.
///         revision_request: Rewrite the answer to say only what was asked.
///         comparison_question: Which answer says what was asked without padding?
///
/// Every key is required and non-empty, names are unique; an error names the file, the line
/// and the key.
public struct Constitution: Equatable, Sendable {
    public var principles: [Principle]

    public init(principles: [Principle]) {
        self.principles = principles
    }

    static let keys = ["name", "critique_request", "revision_request", "comparison_question"]

    /// Reads and checks `url`.
    public static func read(_ url: URL) throws -> Constitution {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigError(
                source: url.path, line: nil, message: "cannot read the constitution: \(error.localizedDescription)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError(source: url.path, line: nil, message: "is not valid YAML: \(error)")
        }
        func fail(_ node: Node?, _ message: String) -> ConfigError {
            ConfigError(source: url.path, line: node?.mark.map { $0.line }, message: message)
        }
        guard let mapping = root?.mapping, let list = mapping["principles"] else {
            throw fail(root, "needs 'principles:', a list of {\(keys.joined(separator: ", "))}")
        }
        if let unknown = mapping.keys.compactMap(\.string).first(where: { $0 != "principles" }) {
            throw fail(root, "unknown key '\(unknown)'; a constitution has only 'principles'")
        }
        guard let items = list.sequence, !items.isEmpty else {
            throw fail(list, "'principles' should be a non-empty list of {\(keys.joined(separator: ", "))}")
        }
        var principles: [Principle] = []
        for (index, item) in items.enumerated() {
            guard let fields = item.mapping else {
                throw fail(item, "principles[\(index)] should be a mapping with \(keys.joined(separator: ", "))")
            }
            if let unknown = fields.keys.compactMap(\.string).first(where: { !keys.contains($0) }) {
                throw fail(
                    item,
                    "principles[\(index)] has the unknown key '\(unknown)'; the keys are \(keys.joined(separator: ", "))"
                )
            }
            var values: [String: String] = [:]
            for key in keys {
                guard let value = fields[key]?.string?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty
                else {
                    throw fail(
                        fields[key] ?? item,
                        "principles[\(index)] lacks '\(key)' (a non-empty string); every principle needs "
                            + keys.joined(separator: ", "))
                }
                values[key] = value
            }
            let name = values["name"]!
            if principles.contains(where: { $0.name == name }) {
                throw fail(item, "principles[\(index)] repeats the name '\(name)'; names must be unique")
            }
            principles.append(
                Principle(
                    name: name, critiqueRequest: values["critique_request"]!,
                    revisionRequest: values["revision_request"]!, comparisonQuestion: values["comparison_question"]!))
        }
        return Constitution(principles: principles)
    }

    /// The principle drawn for item `index` of a run seeded `seed`: the same for the same pair,
    /// whatever else the run does.
    public func principle(seed: UInt64, index: Int) -> Principle {
        var random = SeededGenerator(seed: FeedbackSeeds.mix(seed, UInt64(index), 0x7072_696E))
        return principles[Int(random.next() % UInt64(principles.count))]
    }
}
