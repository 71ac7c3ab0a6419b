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
        guard url.pathExtension.lowercased() == "jsonl" else { return [try TextLines.text(of: data, file: url.path)] }
        var documents: [String] = []
        for line in try TextLines.lines(of: data, file: url.path) where !line.isBlank {
            guard let object = (try? JSONValue.parse(Data(line.text.utf8), file: url.path))?.objectValue else {
                throw DatasetError.line(
                    url.path, line.number, "not a JSON object; each line must look like {\"text\": \"...\"}")
            }
            guard let document = object["text"]?.stringValue else {
                throw DatasetError.line(url.path, line.number, "missing the string field \"text\"")
            }
            documents.append(document)
        }
        return documents
    }
}
