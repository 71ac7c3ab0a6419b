import Core

/// How `gputrain generate --data` splits its work: `samples` answers to each of `prompts`
/// prompts, one row per (prompt index, sample) in that order, cut into batches of `batchSize`
/// rows by row number alone. Batch k always holds rows k·batchSize ..< (k+1)·batchSize, so a
/// resumed run regenerates exactly the batches an uninterrupted one would have, and each row
/// samples from its own seed (`rowSeed`), whatever batch or place in the batch it lands in.
public struct GenerationPlan: Equatable, Sendable {
    public let prompts: Int
    public let samples: Int
    public let batchSize: Int
    /// The run's seed (`--seed`), from which every row's seed derives.
    public let seed: UInt64

    /// A plan; every count must be positive.
    public init(prompts: Int, samples: Int, batchSize: Int, seed: UInt64) {
        precondition(prompts > 0 && samples > 0 && batchSize > 0, "a plan has rows and batches")
        self.prompts = prompts
        self.samples = samples
        self.batchSize = batchSize
        self.seed = seed
    }

    /// Rows in all: one per (prompt, sample).
    public var rowCount: Int { prompts * samples }

    /// Batches in all, the last one possibly short.
    public var batchCount: Int { (rowCount + batchSize - 1) / batchSize }

    /// The rows of batch `batch`.
    public func rows(ofBatch batch: Int) -> Range<Int> {
        (batch * batchSize)..<min((batch + 1) * batchSize, rowCount)
    }

    /// The prompt index and sample number of row `row`.
    public func item(ofRow row: Int) -> (index: Int, sample: Int) { (row / samples, row % samples) }

    /// The rows of the whole batches among the first `rows` rows: where a run that has written
    /// `rows` rows resumes (a batch cut short is generated again from its start).
    public func wholeBatchRows(in rows: Int) -> Int {
        rows >= rowCount ? rowCount : rows / batchSize * batchSize
    }

    /// The sampling seed of row `row`.
    public func seed(ofRow row: Int) -> UInt64 {
        let (index, sample) = item(ofRow: row)
        return Self.rowSeed(seed: seed, index: index, sample: sample)
    }

    /// The seed of the answer `sample` to prompt `index`:
    /// `mix(mix(mix(seed) ^ index) ^ sample)`, where `mix(x)` is the first output of SplitMix64
    /// started at state x (`SeededGenerator(seed: x).next()`: add 0x9E3779B97F4A7C15, then
    /// SplitMix64's finaliser). It depends on nothing else, so batch size and resumption never
    /// change a row's draws.
    public static func rowSeed(seed: UInt64, index: Int, sample: Int) -> UInt64 {
        func mix(_ value: UInt64) -> UInt64 {
            var generator = SeededGenerator(seed: value)
            return generator.next()
        }
        return mix(mix(mix(seed) ^ UInt64(index)) ^ UInt64(sample))
    }
}
