import Foundation

/// Typed access to the fields of one JSON object, with errors that name the file, the key path and
/// what was expected ("config.json: key 'n_embd' should be an integer, found a string").
/// Missing keys and `null` both read as absent: Hugging Face writers emit `null` for "use the default".
struct JSONFields {
    let object: JSONObject
    let file: String
    /// Where this object sits in the document ("model", "pre_tokenizer.pretokenizers[0]"); empty at the top.
    let path: String

    init(_ object: JSONObject, file: String, path: String = "") {
        self.object = object
        self.file = file
        self.path = path
    }

    /// Reads `value` as the top-level object of `file`.
    init(document value: JSONValue, file: String) throws {
        guard let object = value.objectValue else {
            throw FormatError(file: file, "the top level should be a JSON object, found \(value.kindName)")
        }
        self.init(object, file: file)
    }

    /// The full key path of `key`, for messages.
    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error about `key`.
    func error(_ key: String, _ message: String) -> FormatError {
        FormatError(file: file, "key '\(keyPath(key))' \(message)")
    }

    /// An error about this object as a whole.
    func error(_ message: String) -> FormatError {
        FormatError(file: file, path.isEmpty ? message : "'\(path)' \(message)")
    }

    /// The raw value, `nil` when missing or `null`.
    func value(_ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func contains(_ key: String) -> Bool { value(key) != nil }

    private func typed<T>(_ key: String, _ expected: String, _ convert: (JSONValue) -> T?) throws -> T? {
        guard let value = value(key) else { return nil }
        guard let converted = convert(value) else {
            throw error(key, "should be \(expected), found \(value.kindName)")
        }
        return converted
    }

    func int(_ key: String) throws -> Int? { try typed(key, "an integer") { $0.intValue } }
    func double(_ key: String) throws -> Double? { try typed(key, "a number") { $0.doubleValue } }
    func bool(_ key: String) throws -> Bool? { try typed(key, "true or false") { $0.boolValue } }
    func string(_ key: String) throws -> String? { try typed(key, "a string") { $0.stringValue } }
    func array(_ key: String) throws -> [JSONValue]? { try typed(key, "an array") { $0.arrayValue } }

    func object(_ key: String) throws -> JSONFields? {
        try typed(key, "an object") { $0.objectValue }.map { JSONFields($0, file: file, path: keyPath(key)) }
    }

    /// A non-negative integer, for sizes and counts.
    func count(_ key: String) throws -> Int? {
        guard let value = try int(key) else { return nil }
        guard value >= 0 else { throw error(key, "should not be negative, found \(value)") }
        return value
    }

    /// A positive integer, for sizes that must not be zero.
    func positive(_ key: String) throws -> Int? {
        guard let value = try int(key) else { return nil }
        guard value > 0 else { throw error(key, "should be positive, found \(value)") }
        return value
    }

    func required<T>(_ key: String, _ read: (String) throws -> T?) throws -> T {
        guard let value = try read(key) else { throw error(key, "is missing") }
        return value
    }

    /// An element of an array field, as an object, for nested components such as pre-tokenizer lists.
    func objects(_ key: String) throws -> [JSONFields]? {
        guard let elements = try array(key) else { return nil }
        return try elements.enumerated().map { index, element in
            guard let object = element.objectValue else {
                throw error("\(key)[\(index)]", "should be an object, found \(element.kindName)")
            }
            return JSONFields(object, file: file, path: keyPath("\(key)[\(index)]"))
        }
    }
}
