import Core

/// Cuts a token stream into (B, T) training batches: windows of T + 1 tokens starting at
/// multiples of T, visited in a seeded random order, epoch after epoch.
///
/// Its whole state is `position`, which follows from the number of batches read (`seek`), so a
/// resumed run reads exactly the batches the uninterrupted run would have read.
public struct BatchSampler {
    /// Where the sampler is: which epoch, and how many windows of it were handed out.
    public struct Position: Codable, Equatable, Sendable {
        public var epoch: Int
        public var window: Int
        public init(epoch: Int = 0, window: Int = 0) {
            self.epoch = epoch
            self.window = window
        }
    }

    /// One batch: `inputs` and next-token `targets`, both [batchSize · sequenceLength], row-major.
    public struct Batch: Equatable {
        public var inputs: [Int32]
        public var targets: [Int32]
        /// Rows (B) and tokens per row (T).
        public var batchSize: Int
        public var sequenceLength: Int

        public init(inputs: [Int32], targets: [Int32], batchSize: Int, sequenceLength: Int) {
            self.inputs = inputs
            self.targets = targets
            self.batchSize = batchSize
            self.sequenceLength = sequenceLength
        }
    }

    public let batchSize: Int
    public let sequenceLength: Int
    public let seed: UInt64
    public private(set) var position: Position
    private let tokens: (Int) -> Int32
    private let windowCount: Int
    private var order: [Int]

    /// A sampler over `count` tokens read through `token`; `shuffle` false keeps stream order
    /// (validation).
    public init(
        count: Int, token: @escaping (Int) -> Int32, batchSize: Int, sequenceLength: Int, seed: UInt64,
        shuffle: Bool = true, position: Position = Position()
    ) throws {
        windowCount = (count - 1) / sequenceLength
        guard windowCount >= 1 else {
            throw DatasetError.file(
                "<tokens>", "only \(count) tokens: need more than sequence length \(sequenceLength)")
        }
        self.tokens = token
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.seed = seed
        self.shuffle = shuffle
        self.position = position
        order = []
        order = makeOrder(epoch: position.epoch)
    }

    private let shuffle: Bool

    /// Windows in a complete pass.
    public var windowsPerEpoch: Int { windowCount }

    private func makeOrder(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<windowCount) }
        var random = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
        return Array(0..<windowCount).shuffled(using: &random)
    }

    /// How many batches were handed out so far.
    public var batchIndex: Int { (position.epoch * windowCount + position.window) / batchSize }

    /// Moves to where the sampler is after handing out `batches` batches from the start: a
    /// step's batches follow from its index alone, so a resumed run needs no saved position.
    public mutating func seek(toBatch batches: Int) {
        guard batches != batchIndex else { return }
        let windows = batches * batchSize
        position = Position(epoch: windows / windowCount, window: windows % windowCount)
        order = makeOrder(epoch: position.epoch)
    }

    /// The next batch, moving to a new epoch (and a new order) when one runs out.
    public mutating func next() -> Batch {
        var inputs: [Int32] = []
        var targets: [Int32] = []
        inputs.reserveCapacity(batchSize * sequenceLength)
        targets.reserveCapacity(batchSize * sequenceLength)
        for _ in 0..<batchSize {
            if position.window == windowCount {
                position = Position(epoch: position.epoch + 1, window: 0)
                order = makeOrder(epoch: position.epoch)
            }
            let start = order[position.window] * sequenceLength
            for offset in 0..<sequenceLength {
                inputs.append(tokens(start + offset))
                targets.append(tokens(start + offset + 1))
            }
            position.window += 1
        }
        return Batch(inputs: inputs, targets: targets, batchSize: batchSize, sequenceLength: sequenceLength)
    }
}
