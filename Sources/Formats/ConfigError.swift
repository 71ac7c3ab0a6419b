/// A configuration error: where (the recipe file and line, `--set`, or the option or key that
/// names a file), and what is wrong. Recipes raise it as they load; the inference and training
/// code raises it for a setting whose value (such as a folder) turns out to be unusable.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var source: String
    public var line: Int?
    public var message: String

    public init(source: String, line: Int?, message: String) {
        self.source = source
        self.line = line
        self.message = message
    }

    public var description: String {
        (line.map { "\(source):\($0): " } ?? "\(source): ") + message
    }
}
