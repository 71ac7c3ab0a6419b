import Formats
import Foundation

/// Raw text documents from files: a `.jsonl` file holds one `{"text": …}` object per line
/// (one document each); any other file is one document, its text exactly as read.
public enum TextDocuments {
    /// The documents of `url`; a malformed JSONL line is an error naming the file and line.
    public static func read(_ url: URL) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw DatasetError.file(url.path, "cannot be read (missing or not a file)")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard url.pathExtension.lowercased() == "jsonl" else { return [text] }
        var documents: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.allSatisfy(\.isWhitespace) {
            guard let object = (try? JSONValue.parse(Data(line.utf8), file: url.path))?.objectValue else {
                throw DatasetError.line(
                    url.path, index + 1, "not a JSON object; each line must look like {\"text\": \"...\"}")
            }
            guard let document = object["text"]?.stringValue else {
                throw DatasetError.line(url.path, index + 1, "missing the string field \"text\"")
            }
            documents.append(document)
        }
        return documents
    }
}
