import Foundation

/// A file that could not be read or written: names the file and says what was wrong and what was
/// expected, so a user can fix the file (or report the writer that made it).
public struct FormatError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file (path or short name) the problem is in.
    public var file: String
    /// What was wrong, and what was expected instead.
    public var message: String

    /// An error about `file`; `message` completes the sentence "<file>: …".
    public init(file: String, _ message: String) {
        self.file = file
        self.message = Self.bounded(message)
    }

    /// `message` cut to its first 2,000 characters: a value quoted from a hostile file may be
    /// megabytes long, and the message only has to show what it is.
    static func bounded(_ message: String) -> String {
        message.count <= 2000 ? message : message.prefix(2000) + "… (\(message.count - 2000) more characters)"
    }

    public var description: String { "\(file): \(message)" }
}

extension URL {
    /// The name used in error messages: the path, which is what a user can act on.
    var displayName: String { isFileURL ? path : absoluteString }
}

extension Data {
    /// The file at `url`, memory-mapped (pages are read when touched, so a model file is never
    /// copied whole into memory); an unreadable file is an error naming it.
    init(mappingFile url: URL) throws {
        do {
            try self.init(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw FormatError(file: url.displayName, "cannot be read: \(error.localizedDescription)")
        }
    }
}
