/// Causal multi-head attention with grouped key/value heads, as one fused operation.
///
/// Layouts (row-major): q and out are [batch, queryLength, queryHeads, headDim]; k and v are
/// [batch, keyLength, keyValueHeads, headDim]; the saved log-sum-exp is [batch, queryHeads,
/// queryLength]. Query head j reads key/value head j / (queryHeads / keyValueHeads).
///
/// Query i sits at position `keyLength − queryLength + i` (so with a key/value cache the new
/// queries follow the cached keys) and, when `causal`, attends to keys at positions ≤ its own.
/// Scores are scaled by `scale` (normally headDim^−½). A query with no key to attend to
/// (padding) outputs zeros and receives no gradient.
public struct AttentionShape: Sendable, Equatable {
    public var batch: Int
    public var queryHeads: Int
    public var keyValueHeads: Int
    public var queryLength: Int
    public var keyLength: Int
    public var headDim: Int
    public var scale: Float
    public var causal: Bool

    public init(
        batch: Int, queryHeads: Int, keyValueHeads: Int? = nil, queryLength: Int, keyLength: Int? = nil,
        headDim: Int, scale: Float? = nil, causal: Bool = true
    ) {
        self.batch = batch
        self.queryHeads = queryHeads
        self.keyValueHeads = keyValueHeads ?? queryHeads
        self.queryLength = queryLength
        self.keyLength = keyLength ?? queryLength
        self.headDim = headDim
        self.scale = scale ?? 1 / Float(headDim).squareRoot()
        self.causal = causal
    }

    public var queryCount: Int { batch * queryLength * queryHeads * headDim }
    public var keyCount: Int { batch * keyLength * keyValueHeads * headDim }
    public var logSumExpCount: Int { batch * queryHeads * queryLength }
}

/// Which keys each query may see, beyond causality. All buffers are int32; `nil` means no mask.
///
/// - `keyValid` [batch, keyLength]: 0 marks a padding key that nobody attends to (left-padded
///   batches, ragged caches).
/// - `querySegments` [batch, queryLength] and `keySegments` [batch, keyLength]: a query attends
///   only to keys of the same segment id (packed documents do not see each other). Both or neither.
public struct AttentionMasks {
    public var keyValid: DeviceBuffer?
    public var querySegments: DeviceBuffer?
    public var keySegments: DeviceBuffer?

    public init(keyValid: DeviceBuffer? = nil, querySegments: DeviceBuffer? = nil, keySegments: DeviceBuffer? = nil) {
        self.keyValid = keyValid
        self.querySegments = querySegments
        self.keySegments = keySegments
    }

    /// No masking beyond causality.
    public static let none = AttentionMasks()
}
