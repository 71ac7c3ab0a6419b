import ArgumentParser
import Models

/// How `generate`, `chat` and `label` pick each new token, and how many they make: the same
/// options, checked the same way, for all. Only the defaults of the temperature and the token
/// limit differ, so the command gives them (`generate` and `label` sample like transformers'
/// `generate`, `chat` answers greedily).
struct SamplingArguments: ParsableArguments {
    @Option(help: "New tokens at most (per answer in a chat). Default: 64 for generate and label, 128 for chat.")
    var maxTokens: Int?

    @Option(
        help: """
            Sampling temperature; 0 always picks the most likely token (greedy). Default: 1 for generate and \
            label, 0 for chat.
            """)
    var temperature: Float?

    @Option(help: "Sample among the K most likely tokens only.")
    var topK: Int?

    @Option(help: "Sample among the most likely tokens that hold probability P (nucleus sampling; 1: all).")
    var topP: Float = 1

    @Option(help: "Penalty on tokens already in the text (transformers' repetition_penalty; 1: off).")
    var repetitionPenalty: Float = 1

    @Option(help: "Seed of the sampling: the same seed gives the same text.")
    var seed: UInt64 = 0

    /// The generator's options, with the command's defaults where an option was not given.
    func options(defaultMaxTokens: Int, defaultTemperature: Float) -> GenerationOptions {
        GenerationOptions(
            maxNewTokens: maxTokens ?? defaultMaxTokens,
            sampling: SamplingOptions(
                temperature: temperature ?? defaultTemperature, topK: topK, topP: topP,
                repetitionPenalty: repetitionPenalty, seed: seed))
    }

    func validate() throws {
        guard (maxTokens ?? 0) >= 0 else { throw ValidationError("--max-tokens must not be negative") }
        do {
            try options(defaultMaxTokens: 0, defaultTemperature: 0).sampling.validate()
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
