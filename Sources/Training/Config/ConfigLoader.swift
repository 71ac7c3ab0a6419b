import Formats
import Foundation
import Yams

/// A configuration that can be read from YAML: every field has a default, so a file needs to
/// name only what it changes.
public protocol Configuration: Codable {
    /// The configuration with every default.
    init()

    /// Throws a `ConfigError` naming the key when a value is out of range or the values
    /// contradict each other. `ConfigLoader` calls it as the recipe loads, before any file the
    /// recipe names is opened.
    func validate() throws
}

extension Configuration {
    public func validate() throws {}
}

/// Reads typed YAML configurations with errors that name the file, the line, the key and the
/// expected type, and suggest the closest valid key.
///
/// Keys are snake_case in YAML (`learning_rate`) and camelCase in Swift (`learningRate`).
///
/// How: the defaults are encoded to a YAML tree; the file's tree is laid over it key by key
/// (a key the defaults lack is unknown); `--set key.path=value` overrides are laid over the
/// result the same way; the merged tree is decoded into the type. So the Swift struct is the
/// one schema, with no list of keys to keep in step.
public enum ConfigLoader {
    /// Reads `url`, applies `overrides` (`key.path=value`, in order) and decodes `T`.
    public static func load<T: Configuration>(_: T.Type, from url: URL?, overrides: [String] = []) throws -> T {
        try load(T.self, from: url.map { try RecipeSource.file($0) }, overrides: overrides)
    }

    /// Reads `recipe` (nil: the defaults alone), applies `overrides` and decodes `T`.
    public static func load<T: Configuration>(_: T.Type, from recipe: RecipeSource?, overrides: [String] = []) throws
        -> T
    {
        var tree = try defaultsTree(T.self)
        if let recipe {
            tree = try merge(recipe, into: tree, path: [])
        }
        for override in overrides {
            guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
                throw ConfigError(
                    source: "--set", line: nil, message: "'\(override)' must have the form key.path=value")
            }
            let path = override[..<equals].split(separator: ".").map(String.init)
            let valueText = String(override[override.index(after: equals)...])
            let value = (try? Yams.compose(yaml: valueText)) ?? nil
            var node = value ?? Node("", Tag(.null))
            for key in path.reversed() { node = .mapping(Node.Mapping([(Node(key), node)])) }
            tree = try merge(node, into: tree, path: [], source: "--set \(override)")
        }
        let source = recipe?.name ?? "config"
        let config: T
        do {
            config = try YAMLDecoder().decode(T.self, from: renamingKeys(tree, with: camelCased))
        } catch let error as DecodingError {
            throw describe(error, tree: tree, source: source, overrides: overrides)
        }
        do {
            try config.validate()
        } catch var error as ConfigError where error.source == "config" {
            if let key = error.key {
                (error.source, error.line) = locate(
                    key.split(separator: ".").map(String.init), tree: tree, source: source, overrides: overrides)
            } else {
                error.source = source
            }
            throw error
        }
        return config
    }

    /// `config` as YAML with snake_case keys (the resolved config a run directory keeps).
    public static func yaml<T: Configuration>(of config: T) throws -> String {
        let tree = try Yams.compose(yaml: YAMLEncoder().encode(config)) ?? .mapping(Node.Mapping([]))
        return try Yams.serialize(node: renamingKeys(tree, with: snakeCased))
    }

    /// The defaults of `T` as a YAML tree.
    static func defaultsTree<T: Configuration>(_: T.Type) throws -> Node {
        let yaml = try YAMLEncoder().encode(T())
        return withoutMarks(renamingKeys(try Yams.compose(yaml: yaml) ?? .mapping(Node.Mapping([])), with: snakeCased))
    }

    /// The tree without source positions: a default has no line in the user's recipe.
    static func withoutMarks(_ node: Node) -> Node {
        switch node {
        case .scalar(let scalar): return .scalar(Node.Scalar(scalar.string, scalar.tag, scalar.style))
        case .mapping(let mapping):
            return .mapping(
                Node.Mapping(mapping.map { (withoutMarks($0), withoutMarks($1)) }, mapping.tag, mapping.style))
        case .sequence(let sequence):
            return .sequence(Node.Sequence(sequence.map(withoutMarks), sequence.tag, sequence.style))
        default: return node
        }
    }

    /// The tree with every mapping key passed through `rename`.
    static func renamingKeys(_ node: Node, with rename: (String) -> String) -> Node {
        switch node {
        case .mapping(let mapping):
            return .mapping(
                Node.Mapping(
                    mapping.map { key, value in
                        (key.string.map { Node(rename($0)) } ?? key, renamingKeys(value, with: rename))
                    }))
        case .sequence(let sequence):
            return .sequence(Node.Sequence(sequence.map { renamingKeys($0, with: rename) }))
        default:
            return node
        }
    }

    /// `learningRate` → `learning_rate`.
    static func snakeCased(_ key: String) -> String {
        key.reduce(into: "") { result, character in
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
    }

    /// `learning_rate` → `learningRate`.
    static func camelCased(_ key: String) -> String {
        let parts = key.split(separator: "_", omittingEmptySubsequences: false)
        return parts.enumerated().map {
            $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst()
        }
        .joined()
    }

    /// Lays the tree of `recipe` over `base`; `including` names the recipes whose `recipe:` led
    /// here, so that one that includes itself, directly or not, is an error rather than endless.
    static func merge(_ recipe: RecipeSource, into base: Node, path: [String], including: [String] = []) throws -> Node
    {
        guard !including.contains(recipe.name) else {
            throw ConfigError(
                source: recipe.name, line: nil,
                message: "includes itself through 'recipe:' (\((including + [recipe.name]).joined(separator: " → ")))"
                    + "; remove one of these 'recipe:' keys")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: recipe.text)
        } catch {
            throw notYAML(recipe.name, error)
        }
        guard let node else { return base }
        guard node.mapping != nil else {
            throw ConfigError(
                source: recipe.name, line: nil, message: "is not a YAML recipe (its top level is not a mapping of keys)"
            )
        }
        return try merge(
            node, into: base, path: path, source: recipe.name, folder: recipe.folder,
            including: including + [recipe.name])
    }

    /// The parse error of a file that is not YAML, by position and problem only: the file may be
    /// anything (a key, a password file), so none of its text is quoted.
    static func notYAML(_ source: String, _ error: Error) -> ConfigError {
        let (problem, line): (String, Int?) = {
            switch error as? YamlError {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                .composer(_, let problem, let mark, _):
                return (problem, mark.line)
            case .reader(let problem, _, _, _): return (problem, nil)
            case .duplicatedKeysInMapping(let duplicates, _):
                return ("duplicate keys \(duplicates.joined(separator: ", "))", nil)
            default: return ("unreadable", nil)
            }
        }()
        return ConfigError(source: source, line: line, message: "is not valid YAML (\(problem))")
    }

    /// Lays `user` over `base`: mappings merge key by key, anything else replaces. A mapping's
    /// `recipe: NAME` (where the schema has no such key) lays that recipe over `base` first.
    static func merge(
        _ user: Node, into base: Node, path: [String], source: String, folder: URL? = nil, including: [String] = []
    ) throws -> Node {
        guard case .mapping(let baseMapping) = base else { return user }
        guard case .mapping(let userMapping) = user else {
            if case .scalar = user, user.null != nil { return base }  // an empty section keeps the defaults
            throw ConfigError(
                source: source, line: user.mark?.line,
                message: "'\(path.joined(separator: "."))' must be a section with keys "
                    + baseMapping.keys.compactMap(\.string).joined(separator: ", "))
        }
        var merged = baseMapping
        if baseMapping["recipe"] == nil, let include = userMapping["recipe"] {
            guard let name = include.string else {
                throw ConfigError(
                    source: source, line: include.mark?.line,
                    message: "'recipe' must name a recipe file or a built-in recipe")
            }
            let recipe: RecipeSource
            do {
                recipe = try RecipeSource.named(name, relativeTo: folder)
            } catch var error as ConfigError {
                (error.source, error.line) = (source, include.mark?.line)
                error.message = "'\((path + ["recipe"]).joined(separator: "."))' names '\(name)': " + error.message
                throw error
            }
            if case .mapping(let included) = try merge(recipe, into: base, path: path, including: including) {
                merged = included
            }
        }
        for (keyNode, value) in userMapping where keyNode.string != "recipe" || baseMapping["recipe"] != nil {
            guard let key = keyNode.string else {
                throw ConfigError(source: source, line: keyNode.mark?.line, message: "keys must be strings")
            }
            let fullKey = (path + [key]).joined(separator: ".")
            guard let existing = baseMapping[key] else {
                let valid = Array(baseMapping.keys.compactMap(\.string))
                // A key that could not be a recipe's (the file may be anything) is not quoted.
                let plausible =
                    key.count <= 40 && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
                var message = plausible ? "unknown key '\(fullKey)'" : "a key that is not a recipe key"
                if plausible, let suggestion = closest(to: key, in: valid) {
                    message += "; did you mean '\(suggestion)'?"
                }
                message += "; valid keys here: \(valid.joined(separator: ", "))"
                throw ConfigError(source: source, line: keyNode.mark?.line, message: message)
            }
            merged[key] = try merge(
                value, into: merged[key] ?? existing, path: path + [key], source: source, folder: folder,
                including: including)
        }
        return .mapping(merged)
    }

    /// The candidate with the smallest edit distance to `word`, if it is close enough to be a typo.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, word.count / 3) else { return nil }
        return best.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }

    /// Turns a decoding failure into an error naming the key, its line and the expected type.
    /// A value that came from an override is named by its `--set`, not by a line of the file.
    static func describe(_ error: DecodingError, tree: Node, source: String, overrides: [String] = []) -> ConfigError {
        let (context, expected): (DecodingError.Context, String) = {
            switch error {
            case .typeMismatch(let type, let context): return (context, typeName(type))
            case .valueNotFound(let type, let context): return (context, typeName(type))
            case .keyNotFound(let key, let context): return (context, "a value for '\(key.stringValue)'")
            case .dataCorrupted(let context):
                // A `ConfigChoice` puts the list of valid names in the description.
                return (
                    context, context.debugDescription.hasPrefix("one of ") ? context.debugDescription : "a valid value"
                )
            @unknown default:
                return (DecodingError.Context(codingPath: [], debugDescription: "\(error)"), "a valid value")
            }
        }()
        var name = ""
        for key in context.codingPath {
            name += key.intValue.map { "[\($0)]" } ?? ((name.isEmpty ? "" : ".") + snakeCased(key.stringValue))
        }
        let node = self.node(
            at: context.codingPath.map { $0.intValue.map(Path.index) ?? .key($0.stringValue) }, in: tree)
        let found = node?.scalar.map { "'\(ConfigError.shortened($0.string))'" } ?? "something else"
        let (origin, line) = locate(name, node: node, source: source, overrides: overrides)
        return ConfigError(source: origin, line: line, message: "'\(name)' must be \(expected), got \(found)")
    }

    /// One step of a path into the recipe tree.
    enum Path {
        case key(String)
        case index(Int)
    }

    /// The node at `path` (keys in Swift's camelCase or YAML's snake_case) in `tree`.
    static func node(at path: [Path], in tree: Node) -> Node? {
        var node: Node? = tree
        for step in path {
            switch step {
            case .index(let index): node = node?.sequence.flatMap { index < $0.count ? $0[index] : nil }
            case .key(let key): node = node?.mapping?[snakeCased(key)]
            }
        }
        return node
    }

    /// Where the value of the key `keyPath` (snake_case, dotted) came from: the `--set` that gave
    /// it last, else the line of the recipe that holds it (`source`, `line`).
    static func locate(_ keyPath: [String], tree: Node, source: String, overrides: [String]) -> (String, Int?) {
        locate(
            keyPath.joined(separator: "."), node: node(at: keyPath.map(Path.key), in: tree), source: source,
            overrides: overrides)
    }

    private static func locate(_ name: String, node: Node?, source: String, overrides: [String]) -> (String, Int?) {
        let override = overrides.last { override in
            let key = override.prefix { $0 != "=" }
            return name == key || name.hasPrefix(key + ".") || name.hasPrefix(key + "[")
        }
        if let override { return ("--set \(override)", nil) }
        return (source, node?.mark?.line)
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int32.Type, is Int64.Type, is UInt64.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default: return "\(type)"
        }
    }
}
