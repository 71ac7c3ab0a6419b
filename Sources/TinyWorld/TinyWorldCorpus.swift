import Core
import Datasets
import Foundation

/// The pretraining text of a tiny world: a list of documents of six kinds, each kind teaching
/// something a later stage measures.
///
/// - profiles: every fact of one entity, each in a randomly chosen phrasing (knowledge);
/// - fact lists: a few facts of random entities (the same knowledge, mixed);
/// - arithmetic: lines like `7 + 5 = 12` (a skill the RL stages can reward exactly);
/// - word tasks: reversing and spelling everyday words;
/// - stories: short narratives that use facts consistently;
/// - question lists: numbered questions without answers, the text a base model continues
///   when asked a question (so fine-tuning has something to change).
public struct TinyWorldCorpus {
    /// One document and the kind it is.
    public struct Document: Codable, Equatable, Sendable {
        public var kind: String
        public var text: String
    }

    public let world: TinyWorld
    public let documents: [Document]
    /// How many times the corpus states each fact in one of its templated phrasings.
    public let mentions: [Fact: Int]

    /// Writes the corpus of `world` at `size`, deterministically from the world's seed.
    public init(world: TinyWorld, size: TinyWorldSize) {
        self.world = world
        var random = SeededGenerator(seed: world.seed ^ 0xC0FFEE)
        var documents: [Document] = []
        var mentions: [Fact: Int] = [:]
        for _ in 0..<size.profilesPerEntity {
            for entity in world.entities {
                documents.append(
                    Document(kind: "profile", text: Self.profile(entity, mentions: &mentions, using: &random)))
            }
        }
        let facts = world.facts
        for _ in 0..<size.otherDocuments {
            documents.append(
                Document(
                    kind: "facts",
                    text: (0..<4).map { _ in
                        Self.statement(facts.randomElement(using: &random)!, mentions: &mentions, using: &random)
                    }.joined(separator: " ")))
            documents.append(Document(kind: "arithmetic", text: Self.arithmetic(using: &random)))
            documents.append(Document(kind: "words", text: Self.wordTasks(using: &random)))
            documents.append(Document(kind: "story", text: Self.story(world, using: &random)))
            if documents.count % 2 == 0 {
                documents.append(Document(kind: "questions", text: Self.questionList(facts, using: &random)))
            }
        }
        documents.shuffle(using: &random)
        self.documents = documents
        self.mentions = mentions
    }

    /// How many times the corpus states `fact` in one of its templated phrasings.
    public func mentions(of fact: Fact) -> Int { mentions[fact, default: 0] }

    static func statement(_ fact: Fact, mentions: inout [Fact: Int], using random: inout SeededGenerator) -> String {
        mentions[fact, default: 0] += 1
        return Relation.fill(
            fact.relation.statements.randomElement(using: &random)!, subject: fact.subject, object: fact.object)
    }

    static func profile(_ entity: TinyWorld.Entity, mentions: inout [Fact: Int], using random: inout SeededGenerator)
        -> String
    {
        entity.kind.relations.shuffled(using: &random).map { relation in
            statement(
                Fact(
                    subject: entity.name, relation: relation, object: entity.attributes[relation]!,
                    pretrainOnly: entity.pretrainOnly), mentions: &mentions, using: &random)
        }.joined(separator: " ")
    }

    static func arithmetic(using random: inout SeededGenerator) -> String {
        (0..<Int.random(in: 3...6, using: &random)).map { _ in
            let a = Int.random(in: 0...20, using: &random)
            let b = Int.random(in: 0...20, using: &random)
            switch Int.random(in: 0..<3, using: &random) {
            case 0: return "\(a) + \(b) = \(a + b)"
            case 1: return "\(max(a, b)) - \(min(a, b)) = \(max(a, b) - min(a, b))"
            default: return "\(a % 10) * \(b % 10) = \((a % 10) * (b % 10))"
            }
        }.joined(separator: "\n")
    }

    static func wordTasks(using random: inout SeededGenerator) -> String {
        (0..<Int.random(in: 2...4, using: &random)).map { _ in
            let word = Vocabulary.words.randomElement(using: &random)!
            switch Int.random(in: 0..<3, using: &random) {
            case 0: return "The word \"\(word)\" reversed is \"\(String(word.reversed()))\"."
            case 1: return "\"\(word)\" is spelled \(word.map(String.init).joined(separator: "-"))."
            default: return "The word \"\(word)\" has \(word.count) letters."
            }
        }.joined(separator: "\n")
    }

    static func story(_ world: TinyWorld, using random: inout SeededGenerator) -> String {
        let person = world.entities(of: .person).randomElement(using: &random)!
        let animal = world.entities(of: .animal).randomElement(using: &random)!
        let home = person.attributes[.home]!
        let country = world.entities(of: .country).first { $0.attributes[.capital] == home }!
        let habitat = animal.attributes[.habitat]!
        return "One morning \(person.name), a \(person.attributes[.profession]!) from \(home), left the capital of "
            + "\(country.name) and walked to the \(habitat). There \(person.name) saw a \(animal.attributes[.color]!) "
            + "\(animal.name) eating \(animal.attributes[.food]!). \"Even in the \(habitat), the \(animal.name) finds "
            + "\(animal.attributes[.food]!),\" \(person.name) said in \(country.attributes[.language]!), and went home."
    }

    static func questionList(_ facts: [Fact], using random: inout SeededGenerator) -> String {
        let questions = (0..<Int.random(in: 3...6, using: &random)).map { _ -> String in
            let fact = facts.randomElement(using: &random)!
            return Relation.fill(fact.relation.question, subject: fact.subject, object: fact.object)
        }
        return "Questions about the world:\n"
            + questions.enumerated().map { "\($0.offset + 1). \($0.element)" }
            .joined(separator: "\n")
    }
}
