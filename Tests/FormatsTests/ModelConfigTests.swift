import Formats
import XCTest

final class ModelConfigTests: XCTestCase {
    private func parse(_ text: String) throws -> ModelConfig {
        try ModelConfig(json: JSONValue.parse(Data(text.utf8), file: "config.json"))
    }

    private func assertRoundTrips(_ config: ModelConfig, file: StaticString = #filePath, line: UInt = #line) throws {
        let written = try config.jsonData()
        let reread = try ModelConfig(json: JSONValue.parse(written, file: "written"))
        XCTAssertEqual(reread, config, String(decoding: written, as: UTF8.self), file: file, line: line)
    }

    /// An activation gputrain would compute as another, and sizes whose parameter counts would
    /// overflow, are errors naming the key and the value.
    func testUnknownActivationsAndHugeSizesAreErrors() throws {
        let cases: [(String, [String])] = [
            (#"{"model_type": "gpt2", "activation_function": "relu"}"#, ["activation_function", "'relu'", "gelu_new"]),
            (#"{"model_type": "llama", "hidden_act": "gelu"}"#, ["hidden_act", "'gelu'", "silu"]),
            (#"{"model_type": "gpt2", "n_embd": 100000000000, "n_head": 1}"#, ["n_embd", "100000000000", "at most"]),
            (
                #"{"model_type": "llama", "num_hidden_layers": 1000000000}"#,
                ["num_hidden_layers", "1000000000", "at most"]
            ),
        ]
        for (text, fragments) in cases {
            XCTAssertThrowsError(try parse(text), text) { error in
                for fragment in fragments { XCTAssertTrue("\(error)".contains(fragment), "\(fragment): \(error)") }
            }
        }
    }

    func testGPT2Fixture() throws {
        let config = try ModelConfig(contentsOf: FixtureFiles.url("gpt2-tiny/config.json"))
        XCTAssertEqual(config.modelType, .gpt2)
        XCTAssertEqual(config.architectures, ["GPT2LMHeadModel"])
        XCTAssertEqual(config.vocabSize, 400)
        XCTAssertEqual(config.hiddenSize, 64)
        XCTAssertEqual(config.layerCount, 2)
        XCTAssertEqual(config.headCount, 4)
        XCTAssertEqual(config.keyValueHeadCount, 4)
        XCTAssertEqual(config.headDimension, 16)
        XCTAssertEqual(config.intermediateSize, 256, "n_inner null means 4·n_embd")
        XCTAssertEqual(config.maxPositions, 128)
        XCTAssertEqual(config.normEpsilon, 1e-5)
        XCTAssertEqual(config.activation, "gelu_new")
        XCTAssertTrue(config.tieWordEmbeddings)
        XCTAssertTrue(config.queryKeyValueBias && config.attentionOutputBias && config.mlpBias)
        XCTAssertEqual(config.bosTokenID, 0)
        XCTAssertEqual(config.eosTokenIDs, [0])
        XCTAssertNil(config.padTokenID)
        XCTAssertEqual(config.attentionDropout, 0.1)
        XCTAssertEqual(config.dtype, "float32")
        try assertRoundTrips(config)
    }

    func testLlamaFixtureWithV5RopeParameters() throws {
        let config = try ModelConfig(contentsOf: FixtureFiles.url("llama-tiny/config.json"))
        XCTAssertEqual(config.modelType, .llama)
        XCTAssertEqual(config.hiddenSize, 64)
        XCTAssertEqual(config.headCount, 4)
        XCTAssertEqual(config.keyValueHeadCount, 2)
        XCTAssertEqual(config.headDimension, 16)
        XCTAssertEqual(config.intermediateSize, 128)
        XCTAssertEqual(config.maxPositions, 128)
        XCTAssertEqual(config.normEpsilon, 1e-6)
        XCTAssertEqual(config.ropeTheta, 10000)
        XCTAssertNil(config.ropeScaling)
        XCTAssertFalse(config.tieWordEmbeddings)
        XCTAssertFalse(config.queryKeyValueBias || config.attentionOutputBias || config.mlpBias)
        XCTAssertEqual(config.bosTokenID, 0)
        XCTAssertEqual(config.eosTokenIDs, [1])
        try assertRoundTrips(config)
    }

    func testWrittenConfigUsesTheV4Spelling() throws {
        var config = try ModelConfig(contentsOf: FixtureFiles.url("llama-tiny/config.json"))
        config.ropeScaling = .llama3(
            factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192)
        let object = try XCTUnwrap(config.json().objectValue)
        XCTAssertNil(object["rope_parameters"])
        XCTAssertNil(object["dtype"])
        XCTAssertEqual(object["rope_theta"], .double(10000))
        XCTAssertEqual(object["torch_dtype"], "float32")
        let scaling = try XCTUnwrap(object["rope_scaling"]?.objectValue)
        XCTAssertEqual(scaling["rope_type"], "llama3")
        XCTAssertEqual(scaling["type"], "llama3")
        XCTAssertEqual(scaling["original_max_position_embeddings"], 8192)
        let text = String(decoding: try config.jsonData(), as: UTF8.self)
        XCTAssertTrue(
            text.hasPrefix("{\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n  \"attention_bias\": false,"),
            text)
        XCTAssertTrue(text.hasSuffix("}\n"))
        try assertRoundTrips(config)
    }

    func testLlama3RopeScalingInTheV4Spelling() throws {
        let config = try parse(
            """
            {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 128256, "hidden_size": 2048,
             "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 8192,
             "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
             "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                              "original_max_position_embeddings": 8192, "rope_type": "llama3"},
             "tie_word_embeddings": true, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
             "torch_dtype": "bfloat16"}
            """)
        XCTAssertEqual(config.ropeTheta, 500_000)
        XCTAssertEqual(
            config.ropeScaling,
            .llama3(factor: 32, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192))
        XCTAssertEqual(config.headDimension, 64)
        XCTAssertEqual(config.keyValueHeadCount, 8)
        XCTAssertTrue(config.tieWordEmbeddings)
        XCTAssertEqual(config.eosTokenIDs, [128_001, 128_008, 128_009])
        XCTAssertEqual(config.eosTokenID, 128_001)
        XCTAssertEqual(config.dtype, "bfloat16")
        try assertRoundTrips(config)
    }

    func testLlama3RopeScalingInTheV5Spelling() throws {
        let config = try parse(
            """
            {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1,
             "vocab_size": 300, "dtype": "float32",
             "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                 "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}
            """)
        XCTAssertEqual(config.ropeTheta, 500_000)
        XCTAssertEqual(
            config.ropeScaling,
            .llama3(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositions: 8192))
        XCTAssertEqual(config.keyValueHeadCount, 4, "defaults to the query heads")
        XCTAssertEqual(config.eosTokenIDs, [2], "LlamaConfig default")
    }

    func testOlderRopeScalingWithTypeKey() throws {
        let config = try parse(
            """
            {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "rope_scaling": {"type": "linear", "factor": 2.0}}
            """)
        XCTAssertEqual(config.ropeScaling, .linear(factor: 2))
        XCTAssertEqual(config.ropeTheta, 10000)
        let dynamic = try parse(
            """
            {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "rope_scaling": {"rope_type": "dynamic", "factor": 4}}
            """)
        XCTAssertEqual(dynamic.ropeScaling, .dynamic(factor: 4))
        try assertRoundTrips(dynamic)
        let plain = try parse(
            """
            {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "rope_scaling": {"rope_type": "default"}}
            """)
        XCTAssertNil(plain.ropeScaling)
    }

    func testQwen2Config() throws {
        let config = try parse(
            """
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864,
             "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2, "max_position_embeddings": 32768,
             "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "rope_scaling": null, "sliding_window": 32768,
             "use_sliding_window": false, "max_window_layers": 21, "tie_word_embeddings": true, "vocab_size": 151936,
             "bos_token_id": 151643, "eos_token_id": 151643, "hidden_act": "silu"}
            """)
        XCTAssertEqual(config.modelType, .qwen2)
        XCTAssertEqual(config.headDimension, 64)
        XCTAssertTrue(config.queryKeyValueBias, "Qwen2 q/k/v have biases")
        XCTAssertFalse(config.attentionOutputBias, "Qwen2 o_proj has none")
        XCTAssertFalse(config.mlpBias)
        XCTAssertNil(config.slidingWindow)
        XCTAssertTrue(config.tieWordEmbeddings)
        XCTAssertEqual(config.ropeTheta, 1_000_000)
        try assertRoundTrips(config)
        assertFormatError(
            try parse(#"{"model_type": "qwen2", "use_sliding_window": true}"#), mentions: ["use_sliding_window"])
    }

    func testMistralConfig() throws {
        let config = try parse(
            """
            {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 4096, "head_dim": 128,
             "intermediate_size": 14336, "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
             "rope_theta": 1000000.0, "sliding_window": null, "vocab_size": 32768, "max_position_embeddings": 32768}
            """)
        XCTAssertEqual(config.modelType, .mistral)
        XCTAssertNil(config.slidingWindow)
        XCTAssertFalse(config.tieWordEmbeddings)
        XCTAssertEqual(config.bosTokenID, 1)
        try assertRoundTrips(config)
        let windowed = try parse(#"{"model_type": "mistral", "num_key_value_heads": 8, "sliding_window": 4096}"#)
        XCTAssertEqual(windowed.slidingWindow, 4096)
        try assertRoundTrips(windowed)
    }

    func testPerFamilyTieDefaults() throws {
        XCTAssertTrue(try parse(#"{"model_type": "gpt2"}"#).tieWordEmbeddings)
        XCTAssertFalse(try parse(#"{"model_type": "llama"}"#).tieWordEmbeddings)
        XCTAssertFalse(try parse(#"{"model_type": "qwen2"}"#).tieWordEmbeddings)
        XCTAssertFalse(try parse(#"{"model_type": "mistral"}"#).tieWordEmbeddings)
        let gpt2 = try parse(#"{"model_type": "gpt2"}"#)
        XCTAssertEqual([gpt2.vocabSize, gpt2.hiddenSize, gpt2.layerCount, gpt2.maxPositions], [50257, 768, 12, 1024])
        XCTAssertEqual(gpt2.eosTokenIDs, [50256])
    }

    func testLlamaBiasesAndNullTokenIDs() throws {
        let config = try parse(
            """
            {"model_type": "llama", "attention_bias": true, "mlp_bias": true, "bos_token_id": null, "eos_token_id": null,
             "pad_token_id": 5}
            """)
        XCTAssertTrue(config.queryKeyValueBias && config.attentionOutputBias && config.mlpBias)
        XCTAssertNil(config.bosTokenID)
        XCTAssertEqual(config.eosTokenIDs, [])
        XCTAssertEqual(config.padTokenID, 5)
        try assertRoundTrips(config)
    }

    func testProgrammaticConfigRoundTrips() throws {
        let config = ModelConfig(
            modelType: .llama, vocabSize: 512, hiddenSize: 96, layerCount: 3, headCount: 6,
            keyValueHeadCount: 2, intermediateSize: 256, maxPositions: 256, tieWordEmbeddings: true,
            bosTokenID: 0, eosTokenIDs: [1, 2])
        XCTAssertEqual(config.headDimension, 16)
        try assertRoundTrips(config)
        let gpt2 = ModelConfig(
            modelType: .gpt2, vocabSize: 512, hiddenSize: 96, layerCount: 3, headCount: 6, maxPositions: 256)
        XCTAssertEqual(gpt2.intermediateSize, 384)
        try assertRoundTrips(gpt2)
        let folder = try temporaryFolder(self)
        try gpt2.write(to: folder.appendingPathComponent("config.json"))
        XCTAssertEqual(try ModelConfig(contentsOf: folder.appendingPathComponent("config.json")), gpt2)
    }

    func testSequenceClassificationLabels() throws {
        let reward = try parse(
            """
            {"model_type": "qwen2", "architectures": ["Qwen2ForSequenceClassification"], "id2label": {"0": "LABEL_0"},
             "label2id": {"LABEL_0": 0}, "pad_token_id": 0}
            """)
        XCTAssertEqual(reward.labelCount, 1)
        XCTAssertEqual(reward.architectures, ["Qwen2ForSequenceClassification"])
        try assertRoundTrips(reward)
        XCTAssertEqual(try parse(#"{"model_type": "llama", "num_labels": 3}"#).labelCount, 3)
        XCTAssertNil(try parse(#"{"model_type": "llama"}"#).labelCount)
    }

    func testErrorsNameTheProblem() {
        assertFormatError(
            try parse(#"{"model_type": "bert"}"#), mentions: ["config.json", "'bert'", "gpt2, llama, qwen2, mistral"])
        assertFormatError(try parse(#"{"vocab_size": 5}"#), mentions: ["model_type", "missing"])
        assertFormatError(
            try parse(#"{"model_type": "mixtral", "architectures": ["MixtralForCausalLM"]}"#),
            mentions: ["model_type", "'mixtral'", "supported: gpt2, llama, qwen2, mistral"])
        assertFormatError(
            try parse(#"{"model_type": "llama", "architectures": ["LlamaForTokenClassification"]}"#),
            mentions: [
                "architectures", "'LlamaForTokenClassification'", "LlamaForCausalLM", "Qwen2ForSequenceClassification",
            ])
        XCTAssertEqual(
            try parse(#"{"model_type": "llama", "architectures": ["LLaMAForCausalLM"]}"#).architectures,
            ["LLaMAForCausalLM"])
        assertFormatError(
            try parse(#"{"model_type": "gpt2", "n_embd": "wide"}"#), mentions: ["'n_embd'", "integer", "a string"])
        assertFormatError(
            try parse(#"{"model_type": "gpt2", "n_embd": 10, "n_head": 3}"#), mentions: ["n_embd", "divisible"])
        assertFormatError(
            try parse(#"{"model_type": "llama", "num_attention_heads": 32, "num_key_value_heads": 5}"#),
            mentions: ["num_key_value_heads", "(5)", "divide"])
        assertFormatError(
            try parse(#"{"model_type": "llama", "rope_scaling": {"rope_type": "yarn", "factor": 4}}"#),
            mentions: ["rope_scaling.rope_type", "'yarn'"])
        assertFormatError(
            try parse(#"{"model_type": "llama", "rope_scaling": {"rope_type": "linear"}}"#),
            mentions: ["rope_scaling.factor", "missing"])
        assertFormatError(
            try parse(#"{"model_type": "gpt2", "vocab_size": 10, "eos_token_id": 10}"#),
            mentions: ["'eos_token_id'", "is 10", "vocab_size 10"])
        assertFormatError(try parse(#"["gpt2"]"#), mentions: ["top level", "object"])
    }

    func testWritingRejectsBiasesTheTypeCannotExpress() {
        var config = ModelConfig.defaults(for: .llama)
        config.attentionOutputBias = true
        assertFormatError(try config.json(), mentions: ["llama", "attention_bias"])
        var qwen = ModelConfig.defaults(for: .qwen2)
        qwen.queryKeyValueBias = false
        assertFormatError(try qwen.json(), mentions: ["qwen2", "q/k/v"])
    }
}
