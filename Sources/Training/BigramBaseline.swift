import Foundation

/// The add-one-smoothed bigram model: the baseline a pretrained model must beat by far.
/// P(next | previous) = (count(previous, next) + 1) / (count(previous) + V).
public struct BigramBaseline {
    private var pairs: [Int64: Int] = [:]
    private var firsts: [Int32: Int] = [:]
    public let vocabularySize: Int

    /// Counts the bigrams of `count` training tokens read through `token`.
    public init(vocabularySize: Int, count: Int, token: (Int) -> Int32) {
        self.vocabularySize = vocabularySize
        guard count > 1 else { return }
        var previous = token(0)
        for index in 1..<count {
            let next = token(index)
            pairs[Int64(previous) * Int64(vocabularySize) + Int64(next), default: 0] += 1
            firsts[previous, default: 0] += 1
            previous = next
        }
    }

    /// Mean −log P over the `count − 1` predictions of a token sequence.
    public func loss(count: Int, token: (Int) -> Int32) -> Double {
        guard count > 1 else { return .nan }
        var total = 0.0
        var previous = token(0)
        for index in 1..<count {
            let next = token(index)
            let pair = pairs[Int64(previous) * Int64(vocabularySize) + Int64(next), default: 0]
            total -= Foundation.log(Double(pair + 1) / Double(firsts[previous, default: 0] + vocabularySize))
            previous = next
        }
        return total / Double(count - 1)
    }
}
