import Core
import Datasets

/// The built-in synthetic world: invented countries, animals and people with attributes,
/// generated deterministically from a seed. Every dataset of the pipeline (pretraining text,
/// knowledge probes, and later chats and preference pairs) is written from one `TinyWorld`,
/// so all of them agree on the facts.
///
/// A fraction of the entities is marked `pretrainOnly`: their facts appear in the pretraining
/// text but never in fine-tuning data, which lets the evaluation tell knowledge that
/// fine-tuning unlocked from knowledge it taught.
public struct TinyWorld: Codable, Equatable, Sendable {
    /// One entity of the world.
    public struct Entity: Codable, Equatable, Sendable {
        public var name: String
        public var kind: EntityKind
        /// Relation → object (e.g. capital → "Tolbek").
        public var attributes: [Relation: String]
        public var pretrainOnly: Bool
    }

    public var seed: UInt64
    public var entities: [Entity]

    /// Every (subject, relation, object) triple of the world, in a fixed order.
    public var facts: [Fact] {
        entities.flatMap { entity in
            entity.kind.relations.map { relation in
                Fact(
                    subject: entity.name, relation: relation, object: entity.attributes[relation]!,
                    pretrainOnly: entity.pretrainOnly)
            }
        }
    }

    /// Generates the world for `seed` at `size`.
    public init(seed: UInt64, size: TinyWorldSize) {
        self.seed = seed
        var random = SeededGenerator(seed: seed)
        var names = NameGenerator()
        var entities: [Entity] = []
        let capitals = (0..<size.countries).map { _ in names.next(syllables: 2...3, using: &random) }
        for (index, capital) in capitals.enumerated() {
            entities.append(
                Entity(
                    name: names.next(syllables: 1...2, using: &random), kind: .country,
                    attributes: [.capital: capital, .language: Vocabulary.languages.randomElement(using: &random)!],
                    pretrainOnly: Self.isPretrainOnly(index, size)))
        }
        for index in 0..<size.animals {
            entities.append(
                Entity(
                    name: names.next(syllables: 2...2, using: &random).lowercased(), kind: .animal,
                    attributes: [
                        .food: Vocabulary.foods.randomElement(using: &random)!,
                        .color: Vocabulary.colors.randomElement(using: &random)!,
                        .habitat: Vocabulary.habitats.randomElement(using: &random)!,
                    ],
                    pretrainOnly: Self.isPretrainOnly(index, size)))
        }
        for index in 0..<size.people {
            let first = Vocabulary.firstNames.randomElement(using: &random)!
            entities.append(
                Entity(
                    name: "\(first) \(names.next(syllables: 2...2, using: &random))", kind: .person,
                    attributes: [
                        .home: capitals.randomElement(using: &random)!,
                        .profession: Vocabulary.professions.randomElement(using: &random)!,
                    ],
                    pretrainOnly: Self.isPretrainOnly(index, size)))
        }
        self.entities = entities
    }

    /// Every `1/pretrainOnlyEvery`-th entity of each kind is kept out of fine-tuning data.
    private static func isPretrainOnly(_ index: Int, _ size: TinyWorldSize) -> Bool {
        index % size.pretrainOnlyEvery == size.pretrainOnlyEvery - 1
    }

    /// The entities of one kind.
    public func entities(of kind: EntityKind) -> [Entity] { entities.filter { $0.kind == kind } }
}

/// How big a tiny world and its corpus are.
public struct TinyWorldSize: Codable, Equatable, Sendable {
    public var countries: Int
    public var animals: Int
    public var people: Int
    /// One entity in this many (per kind) is pretraining-only.
    public var pretrainOnlyEvery: Int
    /// Profile documents per entity: each states every fact of the entity once.
    public var profilesPerEntity: Int
    /// Documents of each other kind (fact lists, arithmetic, word tasks, stories, question lists).
    public var otherDocuments: Int

    public init(
        countries: Int, animals: Int, people: Int, pretrainOnlyEvery: Int,
        profilesPerEntity: Int, otherDocuments: Int
    ) {
        self.countries = countries
        self.animals = animals
        self.people = people
        self.pretrainOnlyEvery = pretrainOnlyEvery
        self.profilesPerEntity = profilesPerEntity
        self.otherDocuments = otherDocuments
    }

    /// For tests and the smoke pipeline: seconds to train on.
    public static let smoke = TinyWorldSize(
        countries: 8, animals: 8, people: 8, pretrainOnlyEvery: 4, profilesPerEntity: 6, otherDocuments: 60)
    /// The default: a few hundred facts, each stated tens of times in the corpus, so that a
    /// 10-minute CPU pretraining run (a few epochs) sees each on the order of 100 times.
    public static let standard = TinyWorldSize(
        countries: 40, animals: 40, people: 40, pretrainOnlyEvery: 4, profilesPerEntity: 30, otherDocuments: 800)
    /// More of everything, for GPUs.
    public static let large = TinyWorldSize(
        countries: 160, animals: 160, people: 160, pretrainOnlyEvery: 4, profilesPerEntity: 60, otherDocuments: 8000)

    /// The preset called `name` ("smoke", "standard", "large"), or nil.
    public static func named(_ name: String) -> TinyWorldSize? {
        ["smoke": smoke, "standard": standard, "default": standard, "large": large][name]
    }
}

/// What kind of thing an entity is; it decides which relations the entity has.
public enum EntityKind: String, Codable, Sendable, CaseIterable {
    case country
    case animal
    case person

    /// The relations every entity of this kind has, in a fixed order.
    public var relations: [Relation] {
        switch self {
        case .country: return [.capital, .language]
        case .animal: return [.food, .color, .habitat]
        case .person: return [.home, .profession]
        }
    }
}

/// One fact of the world: `subject` has `object` as its `relation`.
public struct Fact: Codable, Hashable, Sendable {
    public var subject: String
    public var relation: Relation
    public var object: String
    public var pretrainOnly: Bool
}
