/// The counter-based random stream behind dropout, shared bit for bit by every device.
///
/// Element `index` of a dropout call with `seed` is kept when `uniform(seed, index) ≥ p`.
/// Being a pure function of (seed, index), the mask needs no storage: the backward pass
/// regenerates it, and a resumed run that restores the seed reproduces it exactly.
/// The OpenCL twin is `dropout_uniform` in `Kernels/activations.cl`; keep the two identical.
public enum DropoutMask {
    /// A 32-bit integer hash (lowbias32 by Chris Wellons) of the seed's halves and the index.
    @inlinable
    public static func hash(seed: UInt64, index: UInt32) -> UInt32 {
        var x = index &+ UInt32(truncatingIfNeeded: seed) &* 0x9E37_79B9
        x ^= UInt32(truncatingIfNeeded: seed >> 32) &* 0x85EB_CA6B
        x ^= x >> 16
        x = x &* 0x7FEB_352D
        x ^= x >> 15
        x = x &* 0x846C_A68B
        x ^= x >> 16
        return x
    }

    /// A uniform number in [0, 1) with 24 random bits.
    @inlinable
    public static func uniform(seed: UInt64, index: UInt32) -> Float {
        Float(hash(seed: seed, index: index) >> 8) * (1.0 / 16_777_216.0)
    }
}
