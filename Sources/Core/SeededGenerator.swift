import Foundation

/// A small, fast, seedable random number generator (SplitMix64) whose whole state is one
/// `UInt64`, so a checkpoint can store and restore it exactly.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    /// The complete state.
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Float in [0, 1).
    public mutating func nextUniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// A standard normal Float (Box–Muller).
    public mutating func nextNormal() -> Float {
        let u1 = max(nextUniform(), 1e-7)
        let u2 = nextUniform()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * .pi * u2)
    }
}

@usableFromInline func _log(_ x: Float) -> Float { Float(Foundation.log(Double(x))) }
@usableFromInline func _cos(_ x: Float) -> Float { Float(Foundation.cos(Double(x))) }
