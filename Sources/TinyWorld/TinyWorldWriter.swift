import Core
import Datasets
import Formats
import Foundation

/// Writes a tiny world to a folder: the files every stage reads by default.
///
/// | file | content |
/// |---|---|
/// | `world.json` | the seed and every entity with its attributes and `pretrainOnly` flag |
/// | `pretrain.jsonl` | one `{"text": …, "kind": …}` object per document (see `TinyWorldCorpus`) |
/// | `probes.jsonl` | one `{"prompt", "answer", "relation", "pretrain_only"}` per fact: a prompt a base model completes greedily, and the entity it should name |
/// | `sft.jsonl`, `preferences.jsonl`, `rl_prompts.jsonl`, `eval_questions.jsonl` | post-training data (`TinyWorldPostTraining`) |
///
/// Each file is written to a temporary name and renamed, so an interrupted run leaves no
/// half-written file behind.
public enum TinyWorldWriter {
    /// What was written, for the command's summary.
    public struct Summary: Sendable {
        public var entities: Int
        public var facts: Int
        public var documents: Int
        public var characters: Int
        /// Smallest and mean number of times a fact is stated in the corpus.
        public var minimumMentions: Int
        public var meanMentions: Double
        public var files: [String]
    }

    /// One knowledge probe.
    public struct Probe: Codable, Equatable, Sendable {
        public var prompt: String
        public var answer: String
        public var relation: Relation
        public var pretrainOnly: Bool

        enum CodingKeys: String, CodingKey {
            case prompt, answer, relation
            case pretrainOnly = "pretrain_only"
        }
    }

    /// Generates the world for `seed` at `size` and writes its files into `directory`.
    public static func write(to directory: URL, seed: UInt64, size: TinyWorldSize) throws -> Summary {
        let world = TinyWorld(seed: seed, size: size)
        let corpus = TinyWorldCorpus(world: world, size: size)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let probes = world.facts.map {
            Probe(
                prompt: Relation.fill($0.relation.probe, subject: $0.subject, object: $0.object), answer: $0.object,
                relation: $0.relation, pretrainOnly: $0.pretrainOnly)
        }
        let files: [(String, Data)] = [
            ("world.json", try encoder.encode(world)),
            ("pretrain.jsonl", try JSONLines.data(corpus.documents)),
            ("probes.jsonl", try JSONLines.data(probes)),
        ]
        for (name, data) in files {
            try AtomicFile.write(data, to: directory.appendingPathComponent(name))
        }
        let postTrainingFiles = try TinyWorldPostTraining.write(to: directory, world: world)
        let mentions = world.facts.map(corpus.mentions(of:))
        return Summary(
            entities: world.entities.count, facts: mentions.count, documents: corpus.documents.count,
            characters: corpus.documents.reduce(0) { $0 + $1.text.count },
            minimumMentions: mentions.min() ?? 0,
            meanMentions: Double(mentions.reduce(0, +)) / Double(max(mentions.count, 1)),
            files: files.map(\.0) + postTrainingFiles)
    }
}
