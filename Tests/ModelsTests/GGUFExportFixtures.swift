import Core
import Formats
import Foundation
import Models
import TestSupport
import XCTest

/// The models the GGUF export is checked on, and the llama.cpp losses committed for their
/// exports (`Tests/FormatsTests/Fixtures/gguf`, made by `make_llama_cpp_losses.py` there).
///
/// The models are the Hugging Face fixtures *sharpened*: query and key weights ×8 and the final
/// norm ×16 (powers of two, so exact). The fixtures' tiny random weights make attention almost
/// uniform and the logits almost flat, so there a writer that forgets llama.cpp's q/k row
/// permutation changes the loss by only 1e-5 relative and one that leaves GPT-2's square
/// `attn.c_proj` untransposed by 6e-4, both inside the 1e-3 tolerance; sharpened, those mistakes
/// (and permuting k with the query head count) move the loss by 0.6–2%.
enum GGUFExportFixtures {
    /// One exported model: a Hugging Face fixture, optionally with its head tied to the embedding.
    struct Model {
        /// The name of the export (and of its fixture record).
        var name: String
        /// The Hugging Face fixture folder it is built from.
        var fixture: String
        /// Whether `tie_word_embeddings` is switched on (the Llama fixture's own `lm_head` is then
        /// ignored, as transformers ignores it).
        var tied = false
    }

    /// Llama with GQA and an untied head, the same weights tied, and GPT-2 (tied).
    static let models = [
        Model(name: "llama-tiny", fixture: "llama-tiny"),
        Model(name: "llama-tiny-tied", fixture: "llama-tiny", tied: true),
        Model(name: "gpt2-tiny", fixture: "gpt2-tiny"),
    ]

    /// The folder holding the committed figures and the script that makes them.
    static var folder: URL { HuggingFaceFixtures.folder("gguf") }

    /// What the fixture file records for one model's F32 export.
    struct Record: Decodable {
        var name: String
        /// SHA-256 of the exported file the losses were computed on.
        var sha256: String
        /// llama.cpp's mean next-token loss for each case of the fixture's `reference.json`.
        var losses: [Double]
    }

    /// The committed records by model name.
    static func records() throws -> [String: Record] {
        struct File: Decodable { var models: [Record] }
        let data = try Data(contentsOf: folder.appendingPathComponent("llama-cpp-losses.json"))
        return Dictionary(
            uniqueKeysWithValues: try JSONDecoder().decode(File.self, from: data).models.map { ($0.name, $0) })
    }

    /// A folder holding `model` as `ModelFolder.load` reads it (the fixture itself, or a copy with
    /// the head tied), removed when `testCase` ends.
    static func folder(for model: Model, in testCase: XCTestCase) throws -> URL {
        let source = HuggingFaceFixtures.folder(model.fixture)
        guard model.tied else { return source }
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent(
            "gguf-\(model.name)-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: copy)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: copy) }
        let configURL = copy.appendingPathComponent("config.json")
        let config = try String(contentsOf: configURL, encoding: .utf8)
        let tied = config.replacingOccurrences(
            of: "\"tie_word_embeddings\": false", with: "\"tie_word_embeddings\": true")
        XCTAssertNotEqual(tied, config, "the fixture config states tie_word_embeddings false")
        try tied.write(to: configURL, atomically: true, encoding: .utf8)
        return copy
    }

    /// `model` loaded on the reference device and sharpened, with its tokenizer and folder.
    static func load(_ model: Model, in testCase: XCTestCase) throws -> (LanguageModel, Tokenizer, URL) {
        let folder = try folder(for: model, in: testCase)
        let (loaded, _) = try ModelFolder.load(folder, device: TestDevices.reference(), trainable: false)
        XCTAssertEqual(loaded.config.tieWordEmbeddings, model.tied || model.fixture == "gpt2-tiny")
        try sharpen(loaded)
        return (loaded, try Tokenizer(contentsOf: folder.appendingPathComponent("tokenizer.json")), folder)
    }

    /// Scales query and key projections by 8 and the final norm by 16 (see the type's comment).
    static func sharpen(_ model: LanguageModel) throws {
        let parameters = model.parameters
        let config = model.config
        func scale(_ name: String, by factor: Float, where selected: (Int) -> Bool = { _ in true }) throws {
            let values = try parameters.values(of: name)
            try parameters.load(name, values: values.indices.map { selected($0) ? values[$0] * factor : values[$0] })
        }
        switch config.modelType {
        case .llama, .qwen2, .mistral:
            for layer in 0..<config.layerCount {
                for projection in ["q_proj", "k_proj"] {
                    try scale("model.layers.\(layer).self_attn.\(projection).weight", by: 8)
                }
            }
            try scale("model.norm.weight", by: 16)
        case .gpt2:
            // c_attn is [d, 3d] with columns [q | k | v]: scale the first 2d columns and bias entries.
            let width = 3 * config.hiddenSize
            let queryKey = 2 * config.hiddenSize
            for layer in 0..<config.layerCount {
                try scale("transformer.h.\(layer).attn.c_attn.weight", by: 8) { $0 % width < queryKey }
                try scale("transformer.h.\(layer).attn.c_attn.bias", by: 8) { $0 < queryKey }
            }
            try scale("transformer.ln_f.weight", by: 16)
            try scale("transformer.ln_f.bias", by: 16)
        }
    }

    /// Exports `model` as `dtype` into a fresh temporary folder and returns the file.
    static func export(_ model: Model, dtype: GGUFExport.DType, in testCase: XCTestCase) throws -> (URL, LanguageModel)
    {
        let (loaded, tokenizer, folder) = try load(model, in: testCase)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-export-\(UUID().uuidString)")
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: output) }
        let file = output.appendingPathComponent("\(model.name).\(dtype.rawValue).gguf")
        try GGUFExport.write(model: loaded, tokenizer: tokenizer, tokenizerConfig: folder, dtype: dtype, to: file)
        return (file, loaded)
    }
}
