import Core
import Formats
import Tensors

/// The keys and values of the positions a model has already read, per layer, so that each
/// generation step runs the model on the new tokens only (Hugging Face's `past_key_values`).
///
/// Layer l keeps `keys[l]` and `values[l]`, each [batch, capacity, keyValueHeads, headDim],
/// of which positions 0 ..< `length` are filled. A forward pass given the cache
/// (`LanguageModel.hiddenStates(_:dropout:cache:)`) writes its tokens' keys and values at
/// `length` ..< `length + batch.length`, attends over all of them, and then counts the new
/// positions as cached. Keys are stored after the rotary embedding, so they never need
/// rotating again. The cache is a constant: use it under `Tensor.withNoGrad`.
public final class KeyValueCache {
    /// Sequences in the batch.
    public let batch: Int
    /// Most positions the cache can hold.
    public let capacity: Int
    /// Per layer, keys [batch, capacity, keyValueHeads, headDim].
    public let keys: [Tensor]
    /// Per layer, values [batch, capacity, keyValueHeads, headDim].
    public let values: [Tensor]
    /// Positions filled so far (the same in every row; padding is masked, not skipped).
    public private(set) var length = 0

    /// An empty cache for `config`'s model on `device`.
    public init(config: ModelConfig, device: Device, batch: Int, capacity: Int) throws {
        guard batch > 0, capacity > 0 else {
            throw DeviceError.invalidArgument(
                operation: "KeyValueCache", message: "batch \(batch) and capacity \(capacity) must be positive")
        }
        let shape = [batch, capacity, config.keyValueHeadCount, config.headDimension]
        self.batch = batch
        self.capacity = capacity
        keys = try (0..<config.layerCount).map {
            try Tensor.zeros(device: device, shape: shape, label: "key cache \($0)")
        }
        values = try (0..<config.layerCount).map {
            try Tensor.zeros(device: device, shape: shape, label: "value cache \($0)")
        }
    }

    /// Forgets every cached position, keeping the buffers (to reuse the cache for new prompts).
    public func reset() { length = 0 }

    /// Throws unless `tokens` fits: same batch size, room for its positions, one layer per
    /// cache entry of `config`. Returns the position of its first token.
    func positionOfNext(_ tokens: TokenBatch, config: ModelConfig) throws -> Int {
        guard tokens.batch == batch, keys.count == config.layerCount else {
            throw DeviceError.invalidArgument(
                operation: "KeyValueCache",
                message: "cache for batch \(batch) and \(keys.count) layers "
                    + "given batch \(tokens.batch) of a model with \(config.layerCount) layers")
        }
        guard length + tokens.length <= capacity else {
            throw DeviceError.invalidArgument(
                operation: "KeyValueCache",
                message: "\(tokens.length) new positions after \(length) exceed the capacity \(capacity)")
        }
        return length
    }

    /// Stores `key` and `value` [batch, new, keyValueHeads, headDim] of `layer` after the cached
    /// positions and returns the keys and values of all positions so far.
    func appending(layer: Int, key: Tensor, value: Tensor) throws -> (key: Tensor, value: Tensor) {
        try keys[layer].write(key, axis: 1, at: length)
        try values[layer].write(value, axis: 1, at: length)
        if length == 0 { return (key, value) }
        // Attention reads a contiguous prefix: a copy, unless the cache is full.
        let filled = 0..<(length + key.shape[1])
        return (try keys[layer].slice(axis: 1, filled), try values[layer].slice(axis: 1, filled))
    }

    /// Counts `count` more positions as cached, once every layer has appended them.
    func advance(by count: Int) { length += count }
}

extension Tensor {
    /// Causal attention of `query` over `key` and `value`, and, with a cache, over the cached
    /// positions before them: the new keys and values are appended to `cache`'s `layer` and
    /// `shape.keyLength` becomes cached + new (`masks.keyValid` must then cover them all).
    static func attention(
        query: Tensor, key: Tensor, value: Tensor, shape: AttentionShape, masks: AttentionMasks,
        cache: KeyValueCache?, layer: Int
    ) throws -> Tensor {
        guard let cache else { return try attention(query: query, key: key, value: value, shape: shape, masks: masks) }
        let all = try cache.appending(layer: layer, key: key, value: value)
        var cachedShape = shape
        cachedShape.keyLength = all.key.shape[1]
        return try attention(query: query, key: all.key, value: all.value, shape: cachedShape, masks: masks)
    }
}
