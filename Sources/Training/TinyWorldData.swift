import Datasets
import Foundation
import Formats

/// Makes the built-in data on first use, so a recipe runs on a fresh clone: the tiny world
/// (`world/`), a BPE tokenizer trained on its text, and the token shards (`tokens/`), all
/// under one folder. Existing files are reused.
public enum TinyWorldData {
    /// The folders and files under `root`.
    public struct Layout {
        public let root: URL
        public var world: URL { root.appendingPathComponent("world") }
        public var tokenizer: URL { root.appendingPathComponent("tokenizer.json") }
        public var tokens: URL { root.appendingPathComponent("tokens") }
        public var probes: URL { world.appendingPathComponent("probes.jsonl") }
    }

    /// Generates whatever of the layout under `root` is missing; returns the layout and notes
    /// on what was made.
    public static func ensure(root: URL, size: TinyWorldSize, seed: UInt64, vocabularySize: Int) throws -> (Layout, [String]) {
        let layout = Layout(root: root)
        var notes: [String] = []
        let corpus = layout.world.appendingPathComponent("pretrain.jsonl")
        if !FileManager.default.fileExists(atPath: corpus.path) {
            let summary = try TinyWorldWriter.write(to: layout.world, seed: seed, size: size)
            notes.append("generated the tiny world in \(layout.world.path): \(summary.facts) facts, \(summary.documents) documents")
        }
        if !FileManager.default.fileExists(atPath: layout.tokenizer.path) {
            var trainer = try BPETrainer(vocabularySize: vocabularySize)
            for document in try TextDocuments.read(corpus) { trainer.count(document) }
            try trainer.train().write(to: layout.tokenizer)
            notes.append("trained a \(vocabularySize)-token BPE tokenizer: \(layout.tokenizer.path)")
        }
        if !FileManager.default.fileExists(atPath: layout.tokens.appendingPathComponent("meta.json").path) {
            let meta = try DatasetPreparation.prepare(
                inputs: [corpus], tokenizer: Tokenizer(contentsOf: layout.tokenizer), tokenizerFile: layout.tokenizer,
                folder: layout.tokens)
            notes.append("tokenized: \(meta.trainTokens) training and \(meta.validationTokens) validation tokens in \(layout.tokens.path)")
        }
        return (layout, notes)
    }
}
