import Core
import Formats
import Foundation
import Models
import Tensors
import TestSupport
import XCTest

/// GGUF export of Llama (GQA; untied and tied) and GPT-2: the files pass the reader's structural
/// checks and hold what llama.cpp expects (docs/formats.md §5.4–5.6), and llama.cpp computes the loss
/// gputrain computes. Without Python the llama.cpp figures come from the committed fixture, pinned
/// to the exact bytes of the export by its SHA-256; with llama-cpp-python installed they are also
/// computed live on fresh exports, F32 and F16.
final class GGUFExportTests: XCTestCase {
    private typealias Fixtures = GGUFExportFixtures

    /// The acceptance tolerance: llama.cpp's loss equals gputrain's to 1e-3 relative.
    private static let lossTolerance = 1e-3

    private func model(_ name: String) -> Fixtures.Model { Fixtures.models.first { $0.name == name }! }

    private func cases(_ model: Fixtures.Model) throws -> [HuggingFaceFixtures.Case] {
        try HuggingFaceFixtures.cases(model.fixture)
    }

    // MARK: Structure

    func testLlamaExportHasTheMetadataAndTensorsLlamaCppReads() throws {
        let (url, model) = try Fixtures.export(model("llama-tiny"), dtype: .f32, in: self)
        let file = try GGUFFile(contentsOf: url)
        XCTAssertEqual(file["general.architecture"], .string("llama"))
        XCTAssertEqual(file["general.file_type"], .uint32(0))
        XCTAssertEqual(file["general.alignment"], .uint32(32))
        // Strict types: llama.cpp refuses a u64 count or an f64 epsilon.
        let expected: [(String, GGUFValue)] = [
            ("llama.context_length", .uint32(128)), ("llama.embedding_length", .uint32(64)),
            ("llama.block_count", .uint32(2)),
            ("llama.feed_forward_length", .uint32(128)), ("llama.attention.head_count", .uint32(4)),
            ("llama.attention.head_count_kv", .uint32(2)), ("llama.attention.layer_norm_rms_epsilon", .float32(1e-6)),
            ("llama.rope.freq_base", .float32(10000)), ("llama.rope.dimension_count", .uint32(16)),
            ("llama.vocab_size", .uint32(400)),
            ("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("llama-bpe")),
            ("tokenizer.ggml.bos_token_id", .uint32(0)), ("tokenizer.ggml.eos_token_id", .uint32(1)),
            ("tokenizer.ggml.add_bos_token", .bool(false)), ("tokenizer.ggml.add_eos_token", .bool(false)),
        ]
        for (key, value) in expected { XCTAssertEqual(file[key], value, key) }
        XCTAssertNil(file["llama.attention.key_length"], "head_dim is hidden/heads, so the default applies")
        let tokens = try XCTUnwrap(file["tokenizer.ggml.tokens"]?.stringArray)
        XCTAssertEqual(tokens.count, 400, "one token per embedding row")
        XCTAssertEqual(Array(tokens.prefix(4)), ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"])
        XCTAssertEqual(tokens[224], "Ġ", "byte-level alphabet, as in tokenizer.json")
        let types = try XCTUnwrap(file["tokenizer.ggml.token_type"]?.arrayValue?.compactMap(\.integerValue))
        XCTAssertEqual(Array(types.prefix(5)), [3, 3, 3, 3, 1], "special added tokens are control tokens")
        XCTAssertEqual(file["tokenizer.ggml.merges"]?.stringArray?.count, 140)

        var names = ["token_embd.weight"]
        for layer in 0..<2 {
            names += [
                "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down",
            ]
            .map { "blk.\(layer).\($0).weight" }
        }
        XCTAssertEqual(file.names, names + ["output_norm.weight", "output.weight"])
        XCTAssertTrue(file.tensors.allSatisfy { $0.type == .f32 })
        XCTAssertEqual(try file.tensor("blk.0.attn_q.weight").dimensions, [64, 64], "ggml order: [in, out]")
        XCTAssertEqual(try file.tensor("blk.0.attn_k.weight").dimensions, [64, 32], "2 kv heads × 16")
        XCTAssertEqual(try file.tensor("token_embd.weight").dimensions, [64, 400])

        let parameters = model.parameters
        XCTAssertEqual(try file.floats("token_embd.weight"), try parameters.values(of: "model.embed_tokens.weight"))
        XCTAssertEqual(try file.floats("output.weight"), try parameters.values(of: "lm_head.weight"))
        XCTAssertEqual(
            try file.floats("blk.1.attn_v.weight"), try parameters.values(of: "model.layers.1.self_attn.v_proj.weight"))
        // docs/formats.md §3.4: Meta/GGUF row 2i + k of each head is Hugging Face row k·d_h/2 + i.
        for (target, source, heads) in [("attn_q", "q_proj", 4), ("attn_k", "k_proj", 2)] {
            let hf = try parameters.values(of: "model.layers.0.self_attn.\(source).weight")
            let gguf = try file.floats("blk.0.\(target).weight")
            for head in 0..<heads {
                for i in 0..<8 {
                    for k in 0..<2 {
                        let ggufRow = head * 16 + 2 * i + k
                        let hfRow = head * 16 + k * 8 + i
                        XCTAssertEqual(
                            gguf[(ggufRow * 64)..<(ggufRow * 64 + 64)], hf[(hfRow * 64)..<(hfRow * 64 + 64)],
                            "\(target) row \(ggufRow)")
                    }
                }
            }
        }
    }

    func testTiedLlamaExportHasNoOutputTensor() throws {
        let (url, _) = try Fixtures.export(model("llama-tiny-tied"), dtype: .f32, in: self)
        let file = try GGUFFile(contentsOf: url)
        XCTAssertFalse(file.names.contains("output.weight"), "llama.cpp reuses token_embd when output is absent")
        XCTAssertEqual(file.tensors.count, 20)
    }

    func testGPT2ExportTransposesConv1DWeights() throws {
        let (url, model) = try Fixtures.export(model("gpt2-tiny"), dtype: .f32, in: self)
        let file = try GGUFFile(contentsOf: url)
        let expected: [(String, GGUFValue)] = [
            ("general.architecture", .string("gpt2")), ("gpt2.context_length", .uint32(128)),
            ("gpt2.embedding_length", .uint32(64)),
            ("gpt2.block_count", .uint32(2)), ("gpt2.feed_forward_length", .uint32(256)),
            ("gpt2.attention.head_count", .uint32(4)),
            ("gpt2.attention.layer_norm_epsilon", .float32(1e-5)), ("tokenizer.ggml.pre", .string("gpt-2")),
            ("tokenizer.ggml.bos_token_id", .uint32(0)), ("tokenizer.ggml.eos_token_id", .uint32(0)),
        ]
        for (key, value) in expected { XCTAssertEqual(file[key], value, key) }
        XCTAssertFalse(file.names.contains("output.weight"), "GPT-2 ties its head")
        XCTAssertEqual(
            file.names.prefix(4),
            ["token_embd.weight", "position_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_norm.bias"])
        XCTAssertEqual(file.names.suffix(2), ["output_norm.weight", "output_norm.bias"])
        XCTAssertEqual(try file.tensor("position_embd.weight").dimensions, [64, 128])
        let qkv = try file.tensor("blk.0.attn_qkv.weight")
        XCTAssertEqual(qkv.shape, [192, 64], "Conv1D [in, out] becomes [out, in]")
        let conv = try model.parameters.values(of: "transformer.h.0.attn.c_attn.weight")
        let linear = try file.floats("blk.0.attn_qkv.weight")
        for output in [0, 5, 100, 191] {
            for input in [0, 13, 63] { XCTAssertEqual(linear[output * 64 + input], conv[input * 192 + output]) }
        }
        XCTAssertEqual(
            try file.floats("blk.1.ffn_down.bias"), try model.parameters.values(of: "transformer.h.1.mlp.c_proj.bias"))
    }

    func testF16ExportKeepsVectorsAndPositionsInFloat32() throws {
        for name in ["llama-tiny", "gpt2-tiny"] {
            let (url, model) = try Fixtures.export(model(name), dtype: .f16, in: self)
            let file = try GGUFFile(contentsOf: url)
            XCTAssertEqual(file["general.file_type"], .uint32(1))
            for tensor in file.tensors {
                let float32 = tensor.dimensions.count == 1 || tensor.name == "position_embd.weight"
                XCTAssertEqual(tensor.type, float32 ? .f32 : .f16, tensor.name)
            }
            let source = name == "gpt2-tiny" ? "transformer.wte.weight" : "model.embed_tokens.weight"
            let rounded = try model.parameters.values(of: source).map {
                HalfPrecision.float(fromFloat16: HalfPrecision.float16(from: $0))
            }
            XCTAssertEqual(try file.floats("token_embd.weight"), rounded, "\(name): weights rounded to nearest half")
        }
    }

    func testExportNamesTheChatTemplateAndSpecialTokensOfTheTokenizerConfig() throws {
        let model = model("llama-tiny")
        let (loaded, tokenizer, fixtureFolder) = try Fixtures.load(model, in: self)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: fixtureFolder.appendingPathComponent("tokenizer_config.json").path))
        let template = "{% for message in messages %}<|im_start|>{{ message['content'] }}<|im_end|>{% endfor %}"
        let config: JSONValue = .object([
            "eos_token": .string("<|im_end|>"), "pad_token": .object(["content": .string("<|im_start|>")]),
            "chat_template": .string(template),
        ])
        try AtomicFile.write(config.serializedData(), to: folder.appendingPathComponent("tokenizer_config.json"))
        let url = folder.appendingPathComponent("model.gguf")
        try GGUFExport.write(model: loaded, tokenizer: tokenizer, tokenizerConfig: folder, dtype: .f32, to: url)
        let file = try GGUFFile(contentsOf: url)
        XCTAssertEqual(file["tokenizer.chat_template"], .string(template))
        XCTAssertEqual(
            file["tokenizer.ggml.eos_token_id"], .uint32(3), "named in tokenizer_config.json, over config.json's id 1")
        XCTAssertEqual(file["tokenizer.ggml.padding_token_id"], .uint32(2))
        XCTAssertEqual(file["tokenizer.ggml.bos_token_id"], .uint32(0), "from config.json")
    }

    func testUnsupportedConfigurationsAreNamed() throws {
        let (loaded, tokenizer, _) = try Fixtures.load(model("gpt2-tiny"), in: self)
        var config = loaded.config
        config.scaleAttentionByInverseLayerIndex = true
        let changed = try makeLanguageModel(config: config, parameters: loaded.parameters)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("never-\(UUID().uuidString).gguf")
        XCTAssertThrowsError(
            try GGUFExport.write(model: changed, tokenizer: tokenizer, tokenizerConfig: nil, dtype: .f32, to: url)
        ) { error in
            XCTAssertTrue("\(error)".contains("scale_attn_by_inverse_layer_idx"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    // MARK: llama.cpp parity

    /// The committed llama.cpp losses belong to exactly these exports (same SHA-256), and gputrain
    /// computes the same losses, to 1e-3 relative. Set `GPUTRAIN_GGUF_EXPORT_DIR` to keep the
    /// exports there (what `make_llama_cpp_losses.py` runs llama.cpp on).
    func testExportsMatchTheCommittedLlamaCppLosses() throws {
        let keep = ProcessInfo.processInfo.environment["GPUTRAIN_GGUF_EXPORT_DIR"].map { URL(fileURLWithPath: $0) }
        let exports = try Fixtures.models.map { model in
            let (url, loaded) = try Fixtures.export(model, dtype: .f32, in: self)
            let bytes = try Data(contentsOf: url)
            _ = try GGUFFile(data: bytes, fileName: url.path)
            if let keep { try AtomicFile.write(bytes, to: keep.appendingPathComponent(url.lastPathComponent)) }
            return (model, bytes, loaded)
        }
        let records = try Fixtures.records()
        for (model, bytes, loaded) in exports {
            let record = try XCTUnwrap(records[model.name], "no committed record for \(model.name)")
            XCTAssertEqual(
                SHA256.hexDigest(bytes), record.sha256,
                "\(model.name): the export changed, so the committed llama.cpp losses no longer describe it; rerun make_llama_cpp_losses.py"
            )
            let cases = try cases(model)
            XCTAssertEqual(record.losses.count, cases.count)
            for (reference, llamaCpp) in zip(cases, record.losses) {
                let ours = Double(try meanLoss(of: loaded, ids: reference.ids))
                XCTAssertEqual(
                    ours, llamaCpp, accuracy: Self.lossTolerance * llamaCpp, "\(model.name): '\(reference.text)'")
            }
        }
    }

    /// llama.cpp (through llama-cpp-python) loads fresh F32 and F16 exports and computes gputrain's
    /// loss. The F16 file is compared with gputrain running on the same half-rounded weights.
    func testLlamaCppComputesTheSameLossOnFreshExports() throws {
        let python = try llamaCppPython()
        for model in Fixtures.models {
            for dtype in GGUFExport.DType.allCases {
                let (url, loaded) = try Fixtures.export(model, dtype: dtype, in: self)
                if dtype == .f16 { try roundMatricesToHalf(loaded) }
                try checkLlamaCpp(
                    python: python, file: url, model: loaded, cases: try cases(model),
                    label: "\(model.name) \(dtype.rawValue)")
            }
        }
    }

    /// The code paths the fixtures do not reach, on random sharpened models with the Llama
    /// fixture's tokenizer: Qwen2 (`qwen2`, q/k/v biases, no row permutation); Llama with biases
    /// everywhere (permuted q/k biases), head_dim ≠ hidden/heads (`key_length`) and Llama 3 RoPE
    /// scaling (`rope_freqs.weight`); tied Llama with linear RoPE scaling.
    func testLlamaCppRunsQwen2BiasesHeadDimensionAndRopeScaling() throws {
        let python = try llamaCppPython()
        let (_, tokenizer, _) = try Fixtures.load(model("llama-tiny"), in: self)
        func config(
            _ type: ModelType, headDimension: Int? = nil, tied: Bool = false,
            _ change: (inout ModelConfig) -> Void = { _ in }
        ) -> ModelConfig {
            var config = ModelConfig(
                modelType: type, vocabSize: 400, hiddenSize: 64, layerCount: 2, headCount: 4, keyValueHeadCount: 2,
                headDimension: headDimension, intermediateSize: 128, maxPositions: 128, tieWordEmbeddings: tied,
                bosTokenID: 0, eosTokenIDs: [1])
            change(&config)
            return config
        }
        let variants: [(String, ModelConfig)] = [
            ("qwen2", config(.qwen2) { $0.ropeTheta = 1_000_000 }),
            (
                "llama-biases-head-dim-llama3-rope",
                config(.llama, headDimension: 32) {
                    $0.queryKeyValueBias = true
                    $0.attentionOutputBias = true
                    $0.mlpBias = true
                    $0.ropeScaling = .llama3(
                        factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 16)
                }
            ),
            ("llama-tied-linear-rope", config(.llama, tied: true) { $0.ropeScaling = .linear(factor: 4) }),
        ]
        let cases = try cases(model("llama-tiny"))
        for (index, (name, config)) in variants.enumerated() {
            let model = try makeLanguageModel(
                config: config,
                parameters: ParameterStore(
                    device: TestDevices.reference(), specs: ModelParameters.specs(for: config)))
            try WeightInitializer.initialize(model, seed: UInt64(index + 1))
            var random = TestRandom(seed: UInt64(index + 10))
            for spec in ModelParameters.specs(for: config) where spec.name.hasSuffix(".bias") {
                try model.parameters.load(spec.name, values: random.floats(spec.count, in: -0.5...0.5))
            }
            try Fixtures.sharpen(model)
            let url = FileManager.default.temporaryDirectory.appendingPathComponent(
                "gguf-\(name)-\(UUID().uuidString).gguf")
            addTeardownBlock { try? FileManager.default.removeItem(at: url) }
            let report = try GGUFExport.write(
                model: model, tokenizer: tokenizer, tokenizerConfig: nil, dtype: .f32, to: url)
            let file = try GGUFFile(contentsOf: url)
            XCTAssertEqual(report.architecture, config.modelType == .qwen2 ? "qwen2" : "llama")
            XCTAssertEqual(
                file["\(report.architecture).attention.key_length"], config.headDimension == 32 ? .uint32(32) : nil,
                name)
            XCTAssertEqual(file.names.contains("rope_freqs.weight"), name.contains("llama3"), name)
            try checkLlamaCpp(python: python, file: url, model: model, cases: cases, label: name)
        }
    }

    private func llamaCppPython() throws -> String {
        try PythonRunner.require(["llama_cpp", "numpy"])
    }

    /// Runs llama.cpp on `file` for every case and asserts that its losses equal gputrain's on `model`.
    private func checkLlamaCpp(
        python: String, file: URL, model: LanguageModel, cases: [HuggingFaceFixtures.Case], label: String
    ) throws {
        let script = Fixtures.folder.appendingPathComponent("make_llama_cpp_losses.py").path
        let idsURL = file.deletingLastPathComponent().appendingPathComponent("\(file.lastPathComponent).ids.json")
        addTeardownBlock { try? FileManager.default.removeItem(at: idsURL) }
        try AtomicFile.write(try JSONEncoder().encode(cases.map(\.ids)), to: idsURL)
        let (status, output) = try PythonRunner.run(python, [script, "loss", file.path, idsURL.path])
        XCTAssertEqual(status, 0, "\(label): \(output)")
        guard status == 0, let line = output.split(separator: "\n").last else { return }
        let losses = try JSONDecoder().decode([Double].self, from: Data(line.utf8))
        XCTAssertEqual(losses.count, cases.count)
        for (reference, llamaCpp) in zip(cases, losses) {
            let ours = Double(try meanLoss(of: model, ids: reference.ids))
            print("\(label): gputrain \(ours), llama.cpp \(llamaCpp) for \(reference.text.debugDescription)")
            XCTAssertEqual(ours, llamaCpp, accuracy: Self.lossTolerance * llamaCpp, "\(label): '\(reference.text)'")
        }
    }

    /// Rounds `model`'s parameters to what an F16 export stores: every matrix but GPT-2's learned
    /// positions goes through half precision; vectors stay as they are.
    private func roundMatricesToHalf(_ model: LanguageModel) throws {
        for spec in ModelParameters.specs(for: model.config)
        where spec.shape.count > 1 && spec.name != "transformer.wpe.weight" {
            let rounded = try model.parameters.values(of: spec.name).map {
                HalfPrecision.float(fromFloat16: HalfPrecision.float16(from: $0))
            }
            try model.parameters.load(spec.name, values: rounded)
        }
    }
}
