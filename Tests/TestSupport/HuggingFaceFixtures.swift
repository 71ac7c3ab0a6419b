import Foundation

/// The Hugging Face reference fixtures (tiny models written by transformers, with the token
/// ids and losses it computed), kept in the repository so tests need nothing outside it.
public enum HuggingFaceFixtures {
    /// The folder of fixture `name` ("gpt2-tiny", "llama-tiny").
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
