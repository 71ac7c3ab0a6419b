/// A recipe value that is one of a fixed set of names (`optim.schedule: cosine`,
/// `loss.type: sigmoid`). It decodes when the recipe loads, so a misspelt name is an error
/// with the file, the line, the key and the valid names, before any file the recipe names
/// is opened; the code that uses it switches over cases, never over strings.
public protocol ConfigChoice: RawRepresentable<String>, CaseIterable, Codable, Sendable {}

extension ConfigChoice {
    /// The valid names, in declaration order, as an error message lists them.
    public static var validNames: String { allCases.map(\.rawValue).joined(separator: ", ") }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: Self.expectation))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// What `ConfigLoader` says a value must be when it is none of the names.
    static var expectation: String { "one of \(validNames)" }
}
