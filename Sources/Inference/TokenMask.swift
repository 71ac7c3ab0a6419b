import Core
import Tensors

/// Which tokens of a [sequences, length] batch take part in a loss: the completion mask m_t of
/// docs/formats.md §6 (completion tokens, not prompt, not padding).
///
/// The mask lives on the host, because every loss also needs host facts about it (the token
/// count of each sequence, the denominator of a masked mean); `tensor(on:)` uploads it as a
/// 0/1 float tensor for the device side.
public struct TokenMask: Sendable, Equatable {
    /// Number of sequences (rows).
    public let sequences: Int
    /// Tokens per sequence (columns).
    public let length: Int
    /// Row-major flags, `sequences · length` of them.
    public let isIncluded: [Bool]

    /// A mask from row-major flags.
    public init(sequences: Int, length: Int, isIncluded: [Bool]) throws {
        guard sequences > 0, length > 0, isIncluded.count == sequences * length else {
            throw DeviceError.shapeMismatch(operation: "TokenMask", lhs: [isIncluded.count], rhs: [sequences, length])
        }
        self.sequences = sequences
        self.length = length
        self.isIncluded = isIncluded
    }

    /// A mask whose sequence i includes its first `lengths[i]` tokens (responses of a rollout,
    /// right-padded to `length`).
    public init(lengths: [Int], length: Int) throws {
        guard lengths.allSatisfy({ (0...length).contains($0) }) else {
            throw DeviceError.invalidArgument(
                operation: "TokenMask", message: "lengths \(lengths) must lie in 0...\(length)")
        }
        try self.init(
            sequences: lengths.count, length: length,
            isIncluded: lengths.flatMap { count in (0..<length).map { $0 < count } })
    }

    /// The shape of the tensors the mask applies to.
    public var shape: [Int] { [sequences, length] }

    /// Included tokens of each sequence.
    public var counts: [Int] {
        (0..<sequences).map { row in isIncluded[row * length..<(row + 1) * length].reduce(0) { $0 + ($1 ? 1 : 0) } }
    }

    /// Included tokens in the whole batch.
    public var total: Int { isIncluded.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// The mask as a constant 0/1 tensor of shape [sequences, length].
    public func tensor(on device: Device) throws -> Tensor {
        try Tensor(device: device, shape: shape, values: isIncluded.map { $0 ? 1 : 0 }, label: "token mask")
    }

    /// Mean of `values` (row-major, one per token) over the included tokens; 0 when none is.
    public func mean(of values: [Float]) -> Double {
        let included = zip(values, isIncluded).filter(\.1)
        return included.isEmpty ? 0 : included.reduce(0) { $0 + Double($1.0) } / Double(included.count)
    }

    /// Throws unless `tensor` holds one value per token of this mask.
    public func require(_ tensor: Tensor, _ operation: String) throws {
        guard tensor.count == sequences * length else {
            throw DeviceError.shapeMismatch(
                operation: "\(operation) ('\(tensor.label)' against the token mask)", lhs: tensor.shape, rhs: shape)
        }
    }
}

/// Masked reductions of per-token tensors, the building blocks of every post-training loss.
extension TokenMask {
    /// Σ_t m_t·x_t per sequence: shape [sequences].
    public func sums(_ x: Tensor, _ operation: String) throws -> Tensor {
        try require(x, operation)
        return try (x.reshaped(shape) * tensor(on: x.device)).sum(axis: 1)
    }

    /// Σ_t m_t·x_t / Σ_t m_t per sequence (0 for a sequence without included tokens).
    public func means(_ x: Tensor, _ operation: String) throws -> Tensor {
        let reciprocals = counts.map { 1 / Float(max($0, 1)) }
        return try sums(x, operation)
            * Tensor(device: x.device, shape: [sequences], values: reciprocals, label: "1/token count")
    }

    /// Σ over all included tokens divided by `denominator` (the masked mean when it is `total`).
    public func sum(_ x: Tensor, dividedBy denominator: Int, _ operation: String) throws -> Tensor {
        try require(x, operation)
        return try (x.reshaped(shape) * tensor(on: x.device)).sum().scaled(by: 1 / Float(max(denominator, 1)))
    }

    /// Mean over all included tokens (0 when there are none).
    public func mean(_ x: Tensor, _ operation: String) throws -> Tensor {
        try sum(x, dividedBy: total, operation)
    }
}
