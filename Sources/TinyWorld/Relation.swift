import Datasets
import Foundation

/// A kind of fact, with every way the tiny world's texts state it, ask it and prompt for it.
///
/// In the templates `{s}` is the subject and `{o}` the object.
public enum Relation: String, Codable, Sendable, CaseIterable, CodingKeyRepresentable {
    case capital
    case language
    case food
    case color
    case habitat
    case home
    case profession

    /// Declarative sentences for the pretraining text. The first one's prefix is the probe.
    public var statements: [String] {
        switch self {
        case .capital:
            return [
                "The capital of {s} is {o}.", "{o} is the capital of {s}.", "{s}'s capital city is {o}.",
                "The government of {s} sits in {o}, its capital.", "Travelers to {s} often visit {o}, the capital.",
            ]
        case .language:
            return [
                "The language of {s} is {o}.", "People in {s} speak {o}.", "{o} is spoken in {s}.",
                "In {s}, most people speak {o}.",
            ]
        case .food:
            return [
                "The {s} eats {o}.", "{O} is the favorite food of the {s}.", "A hungry {s} looks for {o}.",
                "The {s} feeds mostly on {o}.",
            ]
        case .color:
            return [
                "The fur of the {s} is {o}.", "The {s} is {o}.", "A {s} has {o} fur.",
                "You can spot the {s} by its {o} color.",
            ]
        case .habitat:
            return [
                "The {s} lives in the {o}.", "The {s} makes its home in the {o}.", "In the {o} you can find the {s}.",
                "The {o} is where the {s} lives.",
            ]
        case .home:
            return [
                "{s} lives in {o}.", "{s}'s home is in {o}.", "{s} grew up in {o} and still lives there.",
                "You can find {s} in {o}.",
            ]
        case .profession:
            return ["{s} works as a {o}.", "{s} is a {o}.", "By trade, {s} is a {o}.", "{s} earns a living as a {o}."]
        }
    }

    /// The question a user asks about this relation.
    public var question: String {
        switch self {
        case .capital: return "What is the capital of {s}?"
        case .language: return "What language do people speak in {s}?"
        case .food: return "What does the {s} eat?"
        case .color: return "What color is the {s}?"
        case .habitat: return "Where does the {s} live?"
        case .home: return "Where does {s} live?"
        case .profession: return "What is {s}'s job?"
        }
    }

    /// The prompt a base model completes with the object: the first statement up to `{o}`.
    public var probe: String {
        let first = statements[0]
        return String(first[..<first.range(of: "{o}")!.lowerBound]).trimmingCharacters(in: .whitespaces)
    }

    /// `template` with the subject and object filled in (`{O}` capitalises the object).
    public static func fill(_ template: String, subject: String, object: String) -> String {
        template.replacingOccurrences(of: "{s}", with: subject)
            .replacingOccurrences(of: "{o}", with: object)
            .replacingOccurrences(of: "{O}", with: object.prefix(1).uppercased() + object.dropFirst())
    }
}
