import BuiltInRecipes
import Formats
import Foundation

/// Where a recipe's YAML comes from: a file, or one of the recipes built into the binary
/// (`configs/*.yaml`, embedded), so that a command gives the same run from any folder.
///
/// A recipe may start any section from another recipe with `recipe: NAME` (a path relative to
/// the recipe's folder, or a built-in name): the pipeline's `sft: {recipe: tiny-world-sft}`
/// takes the SFT recipe's values, and the keys beside `recipe:` change them.
public struct RecipeSource: Sendable {
    /// What errors call it: the file's path, or "NAME.yaml (built in)".
    public let name: String
    /// The file name without `.yaml`: the run's name when the recipe gives none.
    public let stem: String
    /// The YAML text.
    public let text: String
    /// The folder a `recipe:` inside it is looked up in first; nil for a built-in recipe.
    let folder: URL?

    /// The recipe in the file at `url`.
    public static func file(_ url: URL) throws -> RecipeSource {
        do {
            return RecipeSource(
                name: url.path, stem: url.deletingPathExtension().lastPathComponent,
                text: try String(contentsOf: url, encoding: .utf8), folder: url.deletingLastPathComponent())
        } catch {
            throw ConfigError(
                source: url.path, line: nil, message: "cannot read the config file (\(error.localizedDescription))")
        }
    }

    /// The built-in recipe `name` (with or without `.yaml`), or nil.
    public static func builtIn(_ name: String) -> RecipeSource? {
        let stem = name.hasSuffix(".yaml") ? String(name.dropLast(5)) : name
        return BuiltInRecipes.files[stem].map {
            RecipeSource(name: "\(stem).yaml (built in)", stem: stem, text: $0, folder: nil)
        }
    }

    /// The names of the built-in recipes, sorted.
    public static var builtInNames: [String] { BuiltInRecipes.files.keys.sorted() }

    /// `argument` as a file when one exists there (relative to `folder`, else the working
    /// directory), else the built-in recipe of that name; an error lists the built-in names.
    public static func named(_ argument: String, relativeTo folder: URL? = nil) throws -> RecipeSource {
        let url =
            folder.map { URL(fileURLWithPath: argument, relativeTo: $0).standardizedFileURL }
            ?? URL(fileURLWithPath: argument)
        if FileManager.default.fileExists(atPath: url.path) { return try file(url) }
        if let builtIn = builtIn(argument) { return builtIn }
        throw ConfigError(
            source: argument, line: nil,
            message: "no such recipe file, and no built-in recipe of that name; "
                + "the built-in recipes are \(builtInNames.joined(separator: ", "))")
    }
}
