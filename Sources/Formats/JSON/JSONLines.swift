import Foundation

/// JSON Lines as gputrain writes them: one compact object per line, keys sorted and slashes
/// unescaped, so the same items always give the same bytes and reruns diff cleanly.
public enum JSONLines {
    /// `items` encoded one per line, each line ending in a newline.
    public static func data<T: Encodable>(_ items: [T]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = Data()
        for item in items {
            data.append(try encoder.encode(item))
            data.append(0x0A)
        }
        return data
    }

    /// Writes `items` to `url` as JSON Lines, atomically.
    public static func write<T: Encodable>(_ items: [T], to url: URL) throws {
        try AtomicFile.write(data(items), to: url)
    }
}
