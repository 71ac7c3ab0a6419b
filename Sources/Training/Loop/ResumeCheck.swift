import Formats
import Foundation
import Yams

/// What a resumed run may not change silently: the settings that decide its data and its
/// optimisation (`train.seed`, the global batch, `train.sequence_length`, `data.*`, `optim.*`).
/// A resume with any of them changed is refused unless each changed key is allowed
/// (`--allow-changed KEY`, a key or a section), and an allowed change is recorded in the run's
/// `changes.log`. `train.steps` and everything else may change freely.
enum ResumeCheck {
    /// The protected keys and sections.
    static let protectedKeys = ["train.seed", "train.sequence_length", "data", "optim"]
    /// The global batch: what stays constant when the work is split differently.
    static let globalBatchKeys = ["train.batch_size", "train.gradient_accumulation"]

    /// Compares the resolved recipe `new` with the run's `config.yaml` (`old`), throwing for a
    /// changed protected setting that `allowed` does not cover; returns the allowed changes, one
    /// line each.
    static func changes(from old: String, to new: String, allowed: Set<String>) throws -> [String] {
        let before = try flatten(old)
        let after = try flatten(new)
        var changed: [(key: String, line: String)] = []
        for key in Set(before.keys).union(after.keys).sorted() where isProtected(key) && before[key] != after[key] {
            changed.append((key, "\(key): \(before[key] ?? "(unset)") → \(after[key] ?? "(unset)")"))
        }
        let batch = { (values: [String: String]) in
            globalBatchKeys.map { Int(values[$0] ?? "1") ?? 1 }.reduce(1, *)
        }
        if batch(before) != batch(after) {
            changed.append(
                (
                    "train.batch_size",
                    "global batch (train.batch_size × train.gradient_accumulation): \(batch(before)) → \(batch(after))"
                ))
        }
        let refused = changed.filter { change in
            !allowed.contains { change.key == $0 || change.key.hasPrefix($0 + ".") }
        }
        guard refused.isEmpty else {
            throw ConfigError(
                source: "config", line: nil,
                message: "resuming with settings that change the run's data or optimisation: "
                    + refused.map(\.line).joined(separator: "; ")
                    + "; restore them, or pass "
                    + Set(refused.map(\.key)).sorted().map { "--allow-changed \($0)" }.joined(separator: " ")
                    + " to continue with the change")
        }
        return changed.map(\.line)
    }

    private static func isProtected(_ key: String) -> Bool {
        protectedKeys.contains { key == $0 || key.hasPrefix($0 + ".") }
    }

    /// The scalar values of a YAML recipe by dotted key.
    static func flatten(_ yaml: String) throws -> [String: String] {
        var values: [String: String] = [:]
        func walk(_ node: Node, _ path: String) {
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    walk(value, path.isEmpty ? key.string ?? "" : "\(path).\(key.string ?? "")")
                }
            case .sequence(let sequence):
                values[path] = sequence.map { $0.string ?? "…" }.joined(separator: ", ")
            default:
                values[path] = node.string
            }
        }
        if let node = try Yams.compose(yaml: yaml) { walk(node, "") }
        return values
    }
}
