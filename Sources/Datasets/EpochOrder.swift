import Core

/// The order in which a post-training stage visits its examples: epoch after epoch, each a
/// seeded shuffle of all of them. The examples of step s follow from s, the batch size and the
/// seed alone, so a resumed run takes exactly the batches an uninterrupted one would.
public struct EpochOrder: Sendable {
    public let count: Int
    public let seed: UInt64

    /// An order over `count` examples (at least one).
    public init(count: Int, seed: UInt64) {
        precondition(count > 0, "an order over no examples")
        self.count = count
        self.seed = seed
    }

    /// The example indices of batch `step` of `batchSize` examples.
    public func batch(_ step: Int, size batchSize: Int) -> [Int] {
        var cached: (epoch: Int, order: [Int])?
        return (step * batchSize..<(step + 1) * batchSize).map { position in
            let epoch = position / count
            if cached?.epoch != epoch { cached = (epoch, permutation(epoch: epoch)) }
            return cached!.order[position % count]
        }
    }

    private func permutation(epoch: Int) -> [Int] {
        var random = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
        return Array(0..<count).shuffled(using: &random)
    }

    /// `items` split into training and held-out parts: the held-out part is `fraction` of them
    /// (at least one when `fraction` > 0 and there are two or more), chosen by a seeded shuffle.
    public static func split<T>(_ items: [T], heldoutFraction fraction: Double, seed: UInt64) -> (
        train: [T], heldout: [T]
    ) {
        guard fraction > 0, items.count >= 2 else { return (items, []) }
        var random = SeededGenerator(seed: seed ^ 0x5EED_0F4E_1D07)
        let order = Array(items.indices).shuffled(using: &random)
        let heldout = min(max(Int((Double(items.count) * fraction).rounded()), 1), items.count - 1)
        let heldoutIndices = Set(order.suffix(heldout))
        return (
            items.indices.filter { !heldoutIndices.contains($0) }.map { items[$0] },
            items.indices.filter { heldoutIndices.contains($0) }.map { items[$0] }
        )
    }
}
