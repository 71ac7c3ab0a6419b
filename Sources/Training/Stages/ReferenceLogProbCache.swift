import Datasets
import Formats
import Foundation

/// The frozen reference's summed completion log-probs of every preference pair, computed once
/// and kept in a JSON file in the runs' cache folder (`RunDirectory.cacheFolder`, under `run.out`:
/// `<data>.ref-logprobs-<key>.json`), so DPO trains with a single model in memory and one forward
/// pass per step, and a second run — or a resumed one — reads them instead of recomputing.
///
/// The file is named and checked by a key that hashes what the numbers depend on: the reference
/// model's config and weight files, the data file, the template, the length limits and the
/// encoded pairs themselves (ids and trained positions, which also capture the tokenizer).
/// Changing any of them gives another key, hence a fresh computation. Values are written as
/// doubles, which read back to the same float bits.
public struct ReferenceLogProbCache: Codable, Equatable {
    /// The format and the inputs' hash.
    public var key: String
    /// LP_ref of each pair's chosen completion, by pair index.
    public var chosen: [Double]
    /// LP_ref of each pair's rejected completion.
    public var rejected: [Double]

    /// Number of pairs.
    public var count: Int { chosen.count }

    /// The key for the pairs `pairs` (in order) of `data`, encoded with `template` under
    /// `limits`, scored by the model in `modelFolder`.
    public static func key(
        modelFolder: URL, data: URL, template: String, limits: ChatLengthLimits,
        pairs: [(chosen: ChatExample, rejected: ChatExample)]
    ) throws -> String {
        var hasher = StableHasher()
        hasher.combine("gputrain reference log-probs v1")
        let files = try FileManager.default.contentsOfDirectory(atPath: modelFolder.path)
            .filter { $0 == "config.json" || $0.hasSuffix(".safetensors") || $0.hasSuffix(".safetensors.index.json") }
            .sorted()
        for name in files {
            hasher.combine(name)
            hasher.combine(try Data(contentsOf: modelFolder.appendingPathComponent(name)))
        }
        hasher.combine(try Data(contentsOf: data))
        hasher.combine(
            "template \(template), max_length \(limits.maxLength ?? 0), max_prompt_length \(limits.maxPromptLength ?? 0)"
        )
        for pair in pairs {
            for example in [pair.chosen, pair.rejected] {
                hasher.combine(example.ids)
                hasher.combine(example.labels)
            }
        }
        return hasher.hex
    }

    /// Where the cache for `key` of the dataset `data` lives in the cache folder `folder`.
    public static func url(in folder: URL, data: URL, key: String) -> URL {
        folder.appendingPathComponent("\(data.lastPathComponent).ref-logprobs-\(key).json")
    }

    /// The cache in `url` when it exists and holds `count` pairs for `key`; nil otherwise (a
    /// damaged or foreign file is recomputed, never trusted).
    public static func load(from url: URL, key: String, count: Int) -> ReferenceLogProbCache? {
        guard let data = try? Data(contentsOf: url), let cache = try? JSONDecoder().decode(Self.self, from: data),
            cache.key == key, cache.chosen.count == count, cache.rejected.count == count,
            (cache.chosen + cache.rejected).allSatisfy(\.isFinite)
        else { return nil }
        return cache
    }

    /// Writes the cache to `url` atomically.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(encoder.encode(self), to: url)
    }
}

/// A 64-bit FNV-1a hash of a stream of fields: stable across runs and machines (unlike Swift's
/// `Hasher`), which a file name must be. It guards against stale caches, not against tampering.
struct StableHasher {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    /// Adds bytes, preceded by their count so that field boundaries matter.
    mutating func combine(_ data: Data) {
        add(UInt64(data.count))
        data.withUnsafeBytes { bytes in
            var state = self.state
            for byte in bytes { state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            self.state = state
        }
    }

    mutating func combine(_ text: String) { combine(Data(text.utf8)) }

    mutating func combine(_ values: [Int]) {
        add(UInt64(values.count))
        values.forEach { add(UInt64(bitPattern: Int64($0))) }
    }

    private mutating func add(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) {
            state = (state ^ ((value >> UInt64(shift)) & 0xff)) &* 0x0000_0100_0000_01b3
        }
    }

    /// The hash as 16 hex digits.
    var hex: String {
        let digits = String(state, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
