import Foundation

/// The Hugging Face reference fixtures (tiny models written by transformers, with the token
/// ids and losses it computed), kept in the repository so tests need nothing outside it.
public enum HuggingFaceFixtures {
    /// Every model fixture: first the two original tiny models, a GPT-2 and a Llama with random
    /// weights written by transformers 5.23 and tokenizers trained with Hugging Face `tokenizers`
    /// (see `Tests/FormatsTests/Fixtures/README.md`), then those `make_hf_models.py` writes (GQA
    /// and tied heads, Qwen2 biases, llama3 rope scaling in both spellings, Mistral, BF16/F16
    /// weights, sharded checkpoints, SentencePiece-style tokenizers).
    public static let models = [
        "gpt2-tiny", "llama-tiny", "llama-gqa-tied", "qwen2-tiny", "llama3-rope-v4", "llama3-rope-v5",
        "mistral-tiny", "llama-bf16", "llama-sharded", "tinyllama-spm", "gpt2-f16-sharded",
    ]

    /// The folder of fixture `name` (one of `models`).
    public static func folder(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FormatsTests/Fixtures").appendingPathComponent(name)
    }

    /// One reference case: a text, its ids, and transformers' mean next-token loss.
    public struct Case: Decodable {
        public var text: String
        public var ids: [Int32]
        public var loss: Double
    }

    /// The cases of fixture `name`'s `reference.json`.
    public static func cases(_ name: String) throws -> [Case] {
        struct Reference: Decodable { var cases: [Case] }
        let data = try Data(contentsOf: folder(name).appendingPathComponent("reference.json"))
        return try JSONDecoder().decode(Reference.self, from: data).cases
    }
}
