import Core
import Foundation
import XCTest

@testable import Datasets
@testable import TinyWorld

final class TinyWorldTests: XCTestCase {
    func testSameSeedSameWorldAndCorpus() {
        let a = TinyWorldCorpus(world: TinyWorld(seed: 7, size: .smoke), size: .smoke)
        let b = TinyWorldCorpus(world: TinyWorld(seed: 7, size: .smoke), size: .smoke)
        XCTAssertEqual(a.world, b.world)
        XCTAssertEqual(a.documents, b.documents)
        XCTAssertNotEqual(TinyWorld(seed: 8, size: .smoke), a.world)
    }

    func testEntitiesAreUniqueAndSomeArePretrainOnly() {
        let world = TinyWorld(seed: 1, size: .standard)
        let names = world.entities.map(\.name)
        XCTAssertEqual(Set(names).count, names.count, "entity names are unique")
        let capitals = world.entities(of: .country).compactMap { $0.attributes[.capital] }
        XCTAssertEqual(Set(capitals).count, capitals.count)
        XCTAssertTrue(Set(capitals).isDisjoint(with: names), "no capital shares a name with an entity")
        for kind in EntityKind.allCases {
            let entities = world.entities(of: kind)
            let pretrainOnly = entities.filter(\.pretrainOnly).count
            XCTAssertEqual(pretrainOnly, entities.count / 4, "\(kind): a quarter is pretraining-only")
        }
        for person in world.entities(of: .person) {
            XCTAssertTrue(capitals.contains(person.attributes[.home]!), "people live in capitals")
        }
    }

    func testEveryFactIsStatedOftenAndProbesArePrefixesOfStatements() {
        let size = TinyWorldSize.smoke
        let corpus = TinyWorldCorpus(world: TinyWorld(seed: 3, size: size), size: size)
        for fact in corpus.world.facts {
            XCTAssertGreaterThanOrEqual(corpus.mentions(of: fact), size.profilesPerEntity, "\(fact)")
            let probe = Relation.fill(fact.relation.probe, subject: fact.subject, object: fact.object)
            let canonical = Relation.fill(fact.relation.statements[0], subject: fact.subject, object: fact.object)
            XCTAssertEqual(canonical, probe + " " + fact.object + ".")
        }
        let kinds = Set(corpus.documents.map(\.kind))
        XCTAssertEqual(kinds, ["profile", "facts", "arithmetic", "words", "story", "questions"])
    }

    func testArithmeticAndWordTasksAreCorrect() {
        var random = Core.SeededGenerator(seed: 5)
        for _ in 0..<50 {
            for line in TinyWorldCorpus.arithmetic(using: &random).split(separator: "\n") {
                let parts = line.split(separator: " ")
                let a = Int(parts[0])!
                let b = Int(parts[2])!
                let c = Int(parts[4])!
                switch parts[1] {
                case "+": XCTAssertEqual(a + b, c)
                case "-": XCTAssertEqual(a - b, c)
                default: XCTAssertEqual(a * b, c)
                }
            }
        }
        let text = TinyWorldCorpus.wordTasks(using: &random)
        for line in text.split(separator: "\n") where line.contains("reversed") {
            let quoted = line.split(separator: "\"")
            XCTAssertEqual(String(quoted[1].reversed()), String(quoted[3]))
        }
    }

    func testWriterWritesDocumentedFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-world-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let summary = try TinyWorldWriter.write(to: directory, seed: 11, size: .smoke)
        XCTAssertEqual(summary.files, ["world.json", "pretrain.jsonl", "probes.jsonl"] + TinyWorldPostTraining.files)
        let world = try JSONDecoder().decode(
            TinyWorld.self, from: Data(contentsOf: directory.appendingPathComponent("world.json")))
        XCTAssertEqual(world, TinyWorld(seed: 11, size: .smoke))
        let lines = try String(contentsOf: directory.appendingPathComponent("pretrain.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(lines.count, summary.documents)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertNotNil(object?["text"] as? String)
        }
        let probes = try String(contentsOf: directory.appendingPathComponent("probes.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONDecoder().decode(TinyWorldWriter.Probe.self, from: Data($0.utf8)) }
        XCTAssertEqual(probes.count, summary.facts)
        XCTAssertTrue(probes.contains { $0.pretrainOnly } && probes.contains { !$0.pretrainOnly })
        XCTAssertGreaterThanOrEqual(summary.minimumMentions, TinyWorldSize.smoke.profilesPerEntity)
    }
}
