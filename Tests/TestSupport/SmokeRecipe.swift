import Foundation

/// Recipes for the command-line tests.
public enum SmokeRecipe {
    /// Writes the smallest pretraining recipe, `name` in `folder`: a one-layer GPT-2 of width 16
    /// on the smoke tiny world (made under `world` on first use: `run.out` is its parent
    /// folder, since the tiny world goes inside `run.out`), two 16-token sequences a step:
    /// runs of a second or two for the command-line tests. `dataLines` and `sections` add YAML
    /// (lines of `data:`, then whole sections such as `optim:`).
    public static func pretrain(
        in folder: URL, named name: String = "pretrain.yaml", world: URL, steps: Int, evalEvery: Int = 0,
        checkpointEvery: Int? = nil, maxPositions: Int = 32, dataLines: [String] = [], sections: String = ""
    ) throws -> URL {
        let train =
            ["batch_size: 2", "sequence_length: 16", "steps: \(steps)", "eval_every: \(evalEvery)"]
            + (checkpointEvery.map { ["checkpoint_every: \($0)"] } ?? [])
        let data = ["tiny_world: \(world.lastPathComponent)", "tiny_world_size: smoke", "vocab_size: 300"] + dataLines
        let text = """
            run:\n  out: \(world.deletingLastPathComponent().path)
            model:\n  hidden_size: 16\n  layers: 1\n  heads: 2\n  max_positions: \(maxPositions)
            data:\n\(data.map { "  " + $0 }.joined(separator: "\n"))
            train:\n\(train.map { "  " + $0 }.joined(separator: "\n"))
            \(sections)
            """
        let url = folder.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }
}
