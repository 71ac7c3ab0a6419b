import Core

/// Seeds derived from a run's seed and an item's coordinates, so that every draw of an item
/// (its principle, its sampled answers) is the same however the run is batched or resumed.
enum FeedbackSeeds {
    /// A well-mixed seed from `values` (SplitMix64 steps folded over them).
    static func mix(_ values: UInt64...) -> UInt64 {
        var state: UInt64 = 0x6770_7574_7261_696E
        for value in values {
            var random = SeededGenerator(seed: state ^ value)
            state = random.next()
        }
        return state
    }
}
