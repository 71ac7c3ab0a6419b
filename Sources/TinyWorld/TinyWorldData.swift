import Datasets
import Formats
import Foundation

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
        public var corpus: URL { world.appendingPathComponent("pretrain.jsonl") }

        public init(root: URL) { self.root = root }
    }

    /// Generates whatever of the layout under `root` is missing; returns the layout and notes
    /// on what was made.
    public static func ensure(root: URL, size: TinyWorldSize, seed: UInt64, vocabularySize: Int) throws -> (
        Layout, [String]
    ) {
        let layout = Layout(root: root)
        let notes = try [
            ensureWorld(layout, size: size, seed: seed), ensureTokenizer(layout, vocabularySize: vocabularySize),
            ensureTokens(layout),
        ].compactMap { $0 }
        return (layout, notes)
    }

    /// Writes the world's files (pretraining text, probes, post-training data) unless present;
    /// returns a note on what was made.
    public static func ensureWorld(_ layout: Layout, size: TinyWorldSize, seed: UInt64) throws -> String? {
        guard !FileManager.default.fileExists(atPath: layout.corpus.path) else { return nil }
        let summary = try TinyWorldWriter.write(to: layout.world, seed: seed, size: size)
        return
            "generated the tiny world in \(layout.world.path): \(summary.facts) facts, \(summary.documents) documents"
    }

    /// Trains the BPE tokenizer on the world's text unless present.
    public static func ensureTokenizer(_ layout: Layout, vocabularySize: Int) throws -> String? {
        guard !FileManager.default.fileExists(atPath: layout.tokenizer.path) else { return nil }
        var trainer = try BPETrainer(vocabularySize: vocabularySize)
        for document in try TextDocuments.read(layout.corpus) { trainer.count(document) }
        try trainer.train().write(to: layout.tokenizer)
        return "trained a \(vocabularySize)-token BPE tokenizer: \(layout.tokenizer.path)"
    }

    /// Tokenizes the world's text into training and validation shards unless present.
    public static func ensureTokens(_ layout: Layout) throws -> String? {
        guard !FileManager.default.fileExists(atPath: layout.tokens.appendingPathComponent("meta.json").path) else {
            return nil
        }
        let meta = try DatasetPreparation.prepare(
            inputs: [layout.corpus], tokenizer: Tokenizer(contentsOf: layout.tokenizer),
            tokenizerFile: layout.tokenizer,
            folder: layout.tokens)
        return
            "tokenized: \(meta.trainTokens) training and \(meta.validationTokens) validation tokens in \(layout.tokens.path)"
    }
}
