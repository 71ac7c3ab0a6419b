/// The key–value metadata of a GGUF file, in file order, with unique keys (ggml rejects
/// duplicates, docs/formats.md §5.3).
public struct GGUFMetadata: Equatable, Sendable, Sequence {
    /// One key and its value.
    public struct Entry: Equatable, Sendable {
        public var key: String
        public var value: GGUFValue

        public init(key: String, value: GGUFValue) {
            self.key = key
            self.value = value
        }
    }

    /// The entries in order.
    public private(set) var entries: [Entry] = []
    private var positions: [String: Int] = [:]

    /// Empty metadata.
    public init() {}

    /// The number of keys.
    public var count: Int { entries.count }

    /// The keys in order.
    public var keys: [String] { entries.map(\.key) }

    /// The value of `key`; setting a new key appends it, setting an existing one replaces its value
    /// in place, and `nil` removes it.
    public subscript(key: String) -> GGUFValue? {
        get { positions[key].map { entries[$0].value } }
        set {
            if let index = positions[key] {
                if let newValue {
                    entries[index].value = newValue
                } else {
                    entries.remove(at: index)
                    positions = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.key, $0) })
                }
            } else if let newValue {
                positions[key] = entries.count
                entries.append(Entry(key: key, value: newValue))
            }
        }
    }

    /// Whether `key` is present.
    public func contains(_ key: String) -> Bool { positions[key] != nil }

    /// Appends every entry of `other`, replacing values of keys already present.
    public mutating func merge(_ other: GGUFMetadata) {
        for entry in other.entries { self[entry.key] = entry.value }
    }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    public static func == (lhs: GGUFMetadata, rhs: GGUFMetadata) -> Bool { lhs.entries == rhs.entries }
}
