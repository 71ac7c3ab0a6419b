import Foundation

/// A JSON document as a value. Objects keep their key order (so files written back keep a stable,
/// familiar layout) and integers stay distinct from floating-point numbers (so `8192` and `8192.0`
/// can be told apart, and 64-bit offsets are exact).
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The value as a string, or `nil` if it is not one.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value as a Boolean, or `nil` if it is not one.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The value as an integer: an integer literal, or a floating-point literal with an integral
    /// value that fits (Python writes some integer fields as `8.0`). `nil` otherwise.
    public var intValue: Int? {
        switch self {
        case .int(let value): return value
        case .double(let value):
            guard value.rounded() == value, abs(value) < 9.0e18 else { return nil }
            return Int(value)
        default: return nil
        }
    }

    /// The value as a floating-point number (integers convert), or `nil` if it is not a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// The elements, or `nil` if the value is not an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The object, or `nil` if the value is not an object.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Whether the value is JSON `null`.
    public var isNull: Bool { self == .null }

    /// What kind of value this is, for error messages ("found a string").
    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a Boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A JSON object whose entries keep the order they were read or inserted in.
public struct JSONObject: Equatable, Sendable, ExpressibleByDictionaryLiteral {
    /// One key and its value.
    public struct Entry: Equatable, Sendable {
        public var key: String
        public var value: JSONValue
    }

    /// The entries in order.
    public private(set) var entries: [Entry] = []
    private var positions: [String: Int] = [:]

    /// An empty object.
    public init() {}

    /// An object with these entries in this order; a repeated key keeps its first position and its
    /// last value.
    public init(_ pairs: [(String, JSONValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    /// The keys in order.
    public var keys: [String] { entries.map(\.key) }

    /// The number of entries.
    public var count: Int { entries.count }

    /// Whether the object has an entry for `key` (possibly `null`).
    public func contains(_ key: String) -> Bool { positions[key] != nil }

    /// The value for `key`; setting appends a new key at the end or replaces an existing value in
    /// place; setting `nil` removes the entry.
    public subscript(key: String) -> JSONValue? {
        get { positions[key].map { entries[$0].value } }
        set {
            if let position = positions[key] {
                if let newValue {
                    entries[position].value = newValue
                } else {
                    entries.remove(at: position)
                    positions = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.key, $0) })
                }
            } else if let newValue {
                positions[key] = entries.count
                entries.append(Entry(key: key, value: newValue))
            }
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool { lhs.entries == rhs.entries }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue {
    /// `value` as a JSON integer, or `null` when it is `nil`.
    static func int(orNull value: Int?) -> JSONValue { value.map { .int($0) } ?? .null }
    /// `value` as a JSON string, or `null` when it is `nil`.
    static func string(orNull value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
}
