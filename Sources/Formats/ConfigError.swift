/// A configuration error: where (the recipe file and line, `--set`, or the option or key that
/// names a file), and what is wrong. Recipes raise it as they load; the inference and training
/// code raises it for a setting whose value (such as a folder) turns out to be unusable.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var source: String
    public var line: Int?
    /// The recipe key the error is about (`train.steps`), when there is one: the loader finds
    /// its line, or the `--set` that gave it.
    public var key: String?
    public var message: String

    public init(source: String, line: Int?, key: String? = nil, message: String) {
        self.source = source
        self.line = line
        self.key = key
        self.message = FormatError.bounded(message)
    }

    /// A recipe value out of range: names the key, the value and what it must be.
    public static func value(_ key: String, _ value: Any, mustBe valid: String) -> ConfigError {
        ConfigError(
            source: "config", line: nil, key: key, message: "'\(key)' must be \(valid), got \(shortened("\(value)"))")
    }

    /// `text` cut to its first 60 characters (with "…"): a value quoted in an error may be huge.
    public static func shortened(_ text: String) -> String {
        text.count <= 60 ? text : text.prefix(60) + "…"
    }

    /// Throws `value(key, value, mustBe: valid)` unless `condition` holds.
    public static func require(_ condition: Bool, _ key: String, _ value: Any, mustBe valid: String) throws {
        guard condition else { throw Self.value(key, value, mustBe: valid) }
    }

    public var description: String {
        (line.map { "\(source):\($0): " } ?? "\(source): ") + message
    }
}
