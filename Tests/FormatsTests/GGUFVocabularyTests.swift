import Formats
import Foundation
import TestSupport
import XCTest

/// The `tokenizer.*` GGUF metadata (docs/formats.md §5.5) for each tokenizer style of the fixtures:
/// llama.cpp's tokenizer model and pre-tokenizer name, token list and types, merges or scores, and
/// the special tokens.
final class GGUFVocabularyTests: XCTestCase {
    private func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer(contentsOf: FixtureFiles.url("tokenizers/\(name).json"))
    }

    private func config(vocabSize: Int, bos: Int? = nil, eos: [Int] = []) -> ModelConfig {
        ModelConfig(
            modelType: .llama, vocabSize: vocabSize, hiddenSize: 8, layerCount: 1, headCount: 1, maxPositions: 16,
            bosTokenID: bos, eosTokenIDs: eos)
    }

    private func vocabulary(
        _ tokenizer: Tokenizer, vocabSize: Int = 450, bos: Int? = nil, eos: [Int] = [],
        settings: TokenizerConfigFile = TokenizerConfigFile()
    ) throws -> GGUFVocabulary {
        try GGUFVocabulary(
            tokenizer: tokenizer, config: config(vocabSize: vocabSize, bos: bos, eos: eos), tokenizerConfig: settings,
            fileName: "out.gguf")
    }

    private func types(_ vocabulary: GGUFVocabulary) -> [Int] {
        vocabulary.metadata["tokenizer.ggml.token_type"]?.arrayValue?.compactMap(\.integerValue) ?? []
    }

    func testByteLevelPreTokenizersGetLlamaCppNames() throws {
        let expected = [
            "gpt2-prefix-space": ("gpt-2", "add_prefix_space"), "llama3-style": ("llama-bpe", nil),
            "qwen2-style": ("qwen2", "normalizer"), "smollm-style": ("smollm", nil),
        ]
        for (name, (pre, warning)) in expected {
            let vocabulary = try vocabulary(tokenizer(name))
            XCTAssertEqual(vocabulary.metadata["tokenizer.ggml.model"], .string("gpt2"), name)
            XCTAssertEqual(vocabulary.metadata["tokenizer.ggml.pre"], .string(pre), name)
            XCTAssertEqual(vocabulary.warnings.count, warning == nil ? 0 : 1, "\(name): \(vocabulary.warnings)")
            if let warning { XCTAssertTrue(vocabulary.warnings[0].contains(warning), vocabulary.warnings[0]) }
            XCTAssertNil(vocabulary.metadata["tokenizer.ggml.scores"], name)
        }
        for name in ["custom-splits-a", "custom-splits-b"] {
            let custom = try vocabulary(tokenizer(name))
            XCTAssertNil(
                custom.metadata["tokenizer.ggml.pre"],
                "\(name): llama.cpp has no such pre-tokenizer, so none is claimed")
            XCTAssertTrue(custom.warnings.contains { $0.contains("default regex") }, "\(custom.warnings)")
        }
    }

    func testTokensArePaddedAndTypedAndMergesKeptInRankOrder() throws {
        let tokenizer = try tokenizer("gpt2-prefix-space")
        let vocabulary = try vocabulary(tokenizer, vocabSize: 405)
        let tokens = try XCTUnwrap(vocabulary.metadata["tokenizer.ggml.tokens"]?.stringArray)
        XCTAssertEqual(tokens.count, 405)
        XCTAssertEqual(
            Array(tokens[399...]),
            [tokenizer.token(of: 399)!, "<|im_start|>", "cat", "[PAD402]", "[PAD403]", "[PAD404]"])
        XCTAssertEqual(
            Array(types(vocabulary)[399...]), [1, 3, 4, 5, 5, 5], "normal, special added, other added, padding")
        XCTAssertEqual(types(vocabulary)[0], 3, "<|endoftext|> is a control token")
        let merges = try XCTUnwrap(vocabulary.metadata["tokenizer.ggml.merges"]?.stringArray)
        XCTAssertEqual(merges.count, 143)
        XCTAssertTrue(merges.allSatisfy { $0.split(separator: " ").count == 2 })
        let json = try XCTUnwrap(tokenizer.json().objectValue?["model"]?.objectValue?["merges"]?.arrayValue)
        XCTAssertEqual(merges[0], json[0].arrayValue!.map { $0.stringValue! }.joined(separator: " "))
    }

    func testTokenizerLargerThanTheEmbeddingIsRefused() throws {
        XCTAssertThrowsError(try vocabulary(tokenizer("gpt2-prefix-space"), vocabSize: 400)) { error in
            XCTAssertTrue("\(error)".contains("ids up to 401") && "\(error)".contains("vocab_size is 400"), "\(error)")
        }
    }

    func testTokenizerLlamaCppCannotReadIsRefused() throws {
        var document = try XCTUnwrap(
            try JSONValue.read(contentsOf: FixtureFiles.url("gpt2-tiny/tokenizer.json")).objectValue)
        document["pre_tokenizer"] = .object([
            "type": .string("Split"), "pattern": .object(["String": .string(" ")]),
            "behavior": .string("Isolated"), "invert": .bool(false),
        ])
        let tokenizer = try Tokenizer(json: .object(document))
        assertFormatError(
            try vocabulary(tokenizer), mentions: ["out.gguf", "byte-level BPE", "SentencePiece-style", "neither"])
    }

    func testSpecialTokensComeFromTheTokenizerConfigThenTheModelConfigThenThePostProcessor() throws {
        let llama3 = try tokenizer("llama3-style")
        let fromTemplate = try vocabulary(llama3)
        XCTAssertEqual(
            fromTemplate.metadata["tokenizer.ggml.bos_token_id"], .uint32(0), "the post-processor's leading token")
        XCTAssertEqual(
            fromTemplate.metadata["tokenizer.ggml.add_bos_token"], .bool(true), "Llama 3 prepends <|begin_of_text|>")
        XCTAssertEqual(fromTemplate.metadata["tokenizer.ggml.add_eos_token"], .bool(false))
        XCTAssertNil(fromTemplate.metadata["tokenizer.ggml.eos_token_id"])

        let fromConfig = try vocabulary(llama3, bos: 2, eos: [1, 3])
        XCTAssertEqual(fromConfig.metadata["tokenizer.ggml.bos_token_id"], .uint32(2))
        XCTAssertEqual(fromConfig.metadata["tokenizer.ggml.eos_token_id"], .uint32(1), "the first of a list of eos ids")
        XCTAssertEqual(
            fromConfig.metadata["tokenizer.ggml.add_bos_token"], .bool(false),
            "the template adds 0, which is not the bos")

        var settings = TokenizerConfigFile()
        settings.eosToken = "<|im_end|>"
        settings.padToken = "<|im_start|>"
        settings.unknownToken = "not a token"
        let named = try vocabulary(llama3, bos: 2, eos: [1], settings: settings)
        XCTAssertEqual(named.metadata["tokenizer.ggml.eos_token_id"], .uint32(3))
        XCTAssertEqual(named.metadata["tokenizer.ggml.padding_token_id"], .uint32(2))
        XCTAssertNil(named.metadata["tokenizer.ggml.unknown_token_id"], "a name that is no token is ignored")
    }

    func testSentencePieceTokenizersBecomeLlamaVocabulariesWithScores() throws {
        for name in ["sentencepiece-style"] {
            let tokenizer = try tokenizer(name)
            let vocabulary = try vocabulary(tokenizer, vocabSize: 434)
            let metadata = vocabulary.metadata
            XCTAssertEqual(metadata["tokenizer.ggml.model"], .string("llama"), name)
            XCTAssertEqual(metadata["tokenizer.ggml.pre"], .string("default"), name)
            XCTAssertNil(metadata["tokenizer.ggml.merges"], "llama.cpp's SentencePiece tokenizer merges by score")
            let tokens = try XCTUnwrap(metadata["tokenizer.ggml.tokens"]?.stringArray)
            XCTAssertEqual(
                Array(tokens.prefix(4)), ["<unk>", "<s>", "</s>", "<0x00>"], "pieces keep their ▁ and byte spellings")
            XCTAssertEqual(Array(types(vocabulary).prefix(4)), [2, 3, 3, 6], "unknown, control, control, byte")
            XCTAssertEqual(types(vocabulary)[258], 6, "<0xFF>")
            XCTAssertEqual(types(vocabulary)[300], 1)
            let scores = try XCTUnwrap(metadata["tokenizer.ggml.scores"]?.arrayValue?.compactMap(\.floatingValue))
            XCTAssertEqual(scores.count, 434)
            // Merge r makes a token scoring -r, so llama.cpp (highest score first) merges in rank order.
            let merges = try XCTUnwrap(tokenizer.json().objectValue?["model"]?.objectValue?["merges"]?.arrayValue)
            for rank in [0, 1, 5, 100] {
                let pair = merges[rank].arrayValue!.map { $0.stringValue! }
                XCTAssertEqual(scores[tokenizer.id(of: pair.joined())!], -Double(rank), "\(name): merge \(rank)")
            }
            XCTAssertEqual(scores[tokenizer.id(of: "<0x41>")!], 0)
            XCTAssertEqual(metadata["tokenizer.ggml.unknown_token_id"], .uint32(0))
            XCTAssertEqual(metadata["tokenizer.ggml.bos_token_id"], .uint32(1), "from the post-processor's <s> $A")
            XCTAssertEqual(metadata["tokenizer.ggml.add_bos_token"], .bool(true))
            XCTAssertEqual(metadata["tokenizer.ggml.add_space_prefix"], .bool(true), "\(name) puts ▁ before the text")
            XCTAssertEqual(
                vocabulary.warnings.count, name == "metaspace-style" ? 1 : 0,
                "only Metaspace's prepend_scheme first differs")
        }
    }

    func testShadowedModelTokensBecomeUnusedLikeTheReferenceConverter() throws {
        var document = try XCTUnwrap(
            try JSONValue.read(contentsOf: FixtureFiles.url("gpt2-tiny/tokenizer.json")).objectValue)
        var added = try XCTUnwrap(document["added_tokens"]?.arrayValue)
        added.append(
            .object([
                "id": .int(400), "content": .string("a"), "special": .bool(false), "single_word": .bool(false),
                "lstrip": .bool(false), "rstrip": .bool(false), "normalized": .bool(true),
            ]))
        document["added_tokens"] = .array(added)
        let tokenizer = try Tokenizer(json: .object(document))
        let vocabulary = try vocabulary(tokenizer, vocabSize: 401)
        let tokens = try XCTUnwrap(vocabulary.metadata["tokenizer.ggml.tokens"]?.stringArray)
        let shadowed = try XCTUnwrap(
            try Tokenizer(contentsOf: FixtureFiles.url("gpt2-tiny/tokenizer.json")).id(of: "a"))
        XCTAssertEqual(tokens[400], "a")
        XCTAssertEqual(tokens[shadowed], "[PAD\(shadowed)]")
        XCTAssertEqual(types(vocabulary)[shadowed], 5)
        XCTAssertEqual(Set(tokens).count, tokens.count, "llama.cpp needs distinct tokens")
        XCTAssertTrue(vocabulary.warnings.contains { $0.contains("[\(shadowed)]") }, "\(vocabulary.warnings)")
    }

    func testChatTemplatesAreReadFromTheConfigAndTheSidecar() throws {
        let folder = try temporaryFolder(self)
        let named: JSONValue = .object([
            "bos_token": .object(["content": .string("<s>"), "lstrip": .bool(false)]),
            "chat_template": .array([
                .object(["name": .string("tool use"), "template": .string("TOOLS")]),
                .object(["name": .string("default"), "template": .string("MAIN")]),
            ]),
        ])
        try AtomicFile.write(named.serializedData(), to: folder.appendingPathComponent("tokenizer_config.json"))
        var settings = try TokenizerConfigFile.load(fromFolder: folder)
        XCTAssertEqual(settings.bosToken, "<s>")
        XCTAssertEqual(settings.chatTemplates.map(\.name), ["default", "tool use"])
        var metadata = try vocabulary(tokenizer("llama3-style"), settings: settings).metadata
        XCTAssertEqual(metadata["tokenizer.chat_template"], .string("MAIN"))
        XCTAssertEqual(metadata["tokenizer.chat_template.tool_use"], .string("TOOLS"))

        try AtomicFile.write(Data("SIDECAR".utf8), to: folder.appendingPathComponent("chat_template.jinja"))
        settings = try TokenizerConfigFile.load(fromFolder: folder)
        XCTAssertEqual(settings.chatTemplate, "SIDECAR", "chat_template.jinja wins (docs/formats.md §8.9)")
        metadata = try vocabulary(tokenizer("llama3-style"), settings: settings).metadata
        XCTAssertEqual(metadata["tokenizer.chat_template"], .string("SIDECAR"))

        XCTAssertEqual(
            try TokenizerConfigFile.load(fromFolder: folder.appendingPathComponent("missing")), TokenizerConfigFile())
        try AtomicFile.write(
            Data(#"{"chat_template": 3}"#.utf8), to: folder.appendingPathComponent("tokenizer_config.json"))
        assertFormatError(
            try TokenizerConfigFile.load(fromFolder: folder),
            mentions: ["tokenizer_config.json", "chat_template", "a string or a list"])
    }
}

/// llama.cpp itself (through llama-cpp-python) reads exported vocabularies and, wherever the
/// export gives no warning, tokenizes every case of `tokenizer-cases.json` exactly as Hugging Face
/// does. Skipped without llama-cpp-python.
final class GGUFVocabularyLlamaCppTests: XCTestCase {
    func testLlamaCppTokenizesLikeHuggingFaceUnlessTheExportWarned() throws {
        let python = try PythonRunner.require(["llama_cpp"])
        struct Cases: Decodable {
            struct Case: Codable {
                let tokenizer: String
                let text: String
                let ids: [Int]
            }
            let tokenizers: [String: String]
            let cases: [Case]
        }
        let all = try JSONDecoder().decode(Cases.self, from: Data(contentsOf: FixtureFiles.url("tokenizer-cases.json")))
        let folder = try temporaryFolder(self)
        var files: [String: String] = [:]
        var warned: Set<String> = []
        for (name, path) in all.tokenizers {
            let tokenizer = try Tokenizer(contentsOf: FixtureFiles.url(path))
            let config = ModelConfig(
                modelType: .llama, vocabSize: tokenizer.vocabularySize, hiddenSize: 8, layerCount: 1, headCount: 1,
                maxPositions: 64)
            let vocabulary = try GGUFVocabulary(
                tokenizer: tokenizer, config: config, tokenizerConfig: TokenizerConfigFile(), fileName: name)
            if !vocabulary.warnings.isEmpty { warned.insert(name) }
            var metadata = GGUFMetadata()
            metadata["general.architecture"] = .string("llama")
            for (key, value) in [
                ("context_length", 64), ("embedding_length", 8), ("block_count", 1), ("feed_forward_length", 8),
                ("attention.head_count", 1), ("attention.head_count_kv", 1), ("rope.dimension_count", 8),
            ] {
                metadata["llama.\(key)"] = .uint32(UInt32(value))
            }
            metadata["llama.attention.layer_norm_rms_epsilon"] = .float32(1e-5)
            metadata.merge(vocabulary.metadata)
            let url = folder.appendingPathComponent("\(name).gguf")
            try GGUFWriter(metadata: metadata, tensors: []).write(to: url)
            files[name] = url.path
        }
        // Texts where two merges overlap (a b, b c): there the SentencePiece scores decide which
        // merge llama.cpp makes first, so only scores in merge-rank order give Hugging Face's ids.
        var cases = all.cases
        for name in ["sentencepiece-style"] {
            let tokenizer = try Tokenizer(contentsOf: FixtureFiles.url(all.tokenizers[name]!))
            let merges = try XCTUnwrap(tokenizer.json().objectValue?["model"]?.objectValue?["merges"]?.arrayValue)
                .map { $0.arrayValue!.map { $0.stringValue! } }
            let overlapping = merges.flatMap { first in
                merges.filter { $0[0] == first[1] }.map { first[0] + first[1] + $0[1] }
            }
            let texts = overlapping.map {
                String($0.replacingOccurrences(of: "\u{2581}", with: " ").drop { $0 == " " })
            }
            XCTAssertGreaterThan(texts.count, 10)
            cases += texts.map {
                Cases.Case(tokenizer: name, text: $0, ids: tokenizer.encode($0, addSpecialTokens: false))
            }
        }
        let casesURL = folder.appendingPathComponent("cases.json")
        try AtomicFile.write(try JSONEncoder().encode(cases), to: casesURL)
        let filesURL = folder.appendingPathComponent("files.json")
        try AtomicFile.write(try JSONEncoder().encode(files), to: filesURL)
        let (status, output) = try PythonRunner.run(
            python,
            [
                "-c",
                """
                import json, sys
                from llama_cpp import Llama
                files = json.load(open(sys.argv[1]))
                models = {name: Llama(model_path=path, vocab_only=True, verbose=False) for name, path in files.items()}
                mismatches = []
                for case in json.load(open(sys.argv[2], encoding="utf-8")):
                    ids = models[case["tokenizer"]].tokenize(case["text"].encode("utf-8"), add_bos=False, special=True)
                    if ids != case["ids"]:
                        mismatches.append({"tokenizer": case["tokenizer"], "text": case["text"], "llama.cpp": ids, "hf": case["ids"]})
                print(json.dumps(mismatches))
                """, filesURL.path, casesURL.path,
            ])
        XCTAssertEqual(status, 0, output)
        guard status == 0, let line = output.split(separator: "\n").last else { return }
        let mismatches = try XCTUnwrap(try JSONValue.parse(Data(line.utf8), file: "llama.cpp output").arrayValue)
        let tokenizers = mismatches.compactMap { $0.objectValue?["tokenizer"]?.stringValue }
        for mismatch in mismatches where !warned.contains(mismatch.objectValue?["tokenizer"]?.stringValue ?? "") {
            XCTFail("llama.cpp tokenizes differently without a warning: \(mismatch.serialized(.compact))")
        }
        XCTAssertEqual(
            warned, ["custom-splits-a", "custom-splits-b", "gpt2-prefix-space", "metaspace-style", "qwen2-style"])
        XCTAssertEqual(
            Set(tokenizers).subtracting(warned), [],
            "gpt2-tiny, llama-tiny, llama3-style, smollm-style and sentencepiece-style agree on every case")
    }
}
