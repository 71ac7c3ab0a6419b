import Foundation

extension Tokenizer {
    /// The tokenizer at `path`: a `tokenizer.json` file, or a model folder that holds one.
    public static func load(fromPath path: String) throws -> Tokenizer {
        var url = URL(fileURLWithPath: path)
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            url = url.appendingPathComponent("tokenizer.json")
        }
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw FormatError(
                file: url.path, "not found: pass a tokenizer.json file or a model folder that contains one")
        }
        return try Tokenizer(contentsOf: url)
    }
}
