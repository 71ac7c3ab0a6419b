import Foundation
import TestSupport
import XCTest

/// A damaged Hugging Face model folder given to `gputrain eval` is a clear error naming the file and
/// what is wrong (issue 6, acceptance 5), never a crash or a wrong loss.
final class BadModelFolderTests: XCTestCase {
    /// A copy of fixture `name` in a fresh temporary folder, removed after the test.
    private func copy(_ name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "bad-model-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: HuggingFaceFixtures.folder(name), to: folder)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    /// Runs `gputrain eval` on `folder` (over a one-line text) and checks that it fails naming every fragment.
    private func expectEvalFailure(
        _ folder: URL, mentions fragments: [String], file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let text = folder.appendingPathComponent("text.txt")
        try "The quick brown fox.".write(to: text, atomically: true, encoding: .utf8)
        let result = try CommandRunner.run([
            "eval", "--model", folder.path, "--data", text.path, "--device", "reference",
        ])
        XCTAssertNotEqual(result.status, 0, "eval should fail", file: file, line: line)
        for fragment in fragments where !result.standardError.contains(fragment) {
            XCTFail("'\(fragment)' not in: \(result.standardError)", file: file, line: line)
        }
    }

    /// Rewrites the JSON file `name` in `folder` through `change`.
    private func editJSON(_ folder: URL, _ name: String, _ change: (inout [String: Any]) -> Void) throws {
        let url = folder.appendingPathComponent(name)
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        change(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    /// The 8-byte header length, the header and the data of a safetensors file.
    private func parts(_ data: Data) -> (length: Int, header: [String: Any], rest: Data) {
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try! JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as! [String: Any]
        return (length, header, data.subdata(in: (8 + length)..<data.count))
    }

    func testTruncatedSafetensorsFile() throws {
        let folder = try copy("llama-bf16")
        let weights = folder.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count - 100).write(to: weights)
        try expectEvalFailure(folder, mentions: ["model.safetensors", "truncated", "only"])
    }

    func testHeaderLengthBeyondTheFile() throws {
        let folder = try copy("llama-bf16")
        let weights = folder.appendingPathComponent("model.safetensors")
        var data = try Data(contentsOf: weights)
        let declared = UInt64(data.count)
        for byte in 0..<8 { data[byte] = UInt8(truncatingIfNeeded: declared >> (8 * UInt64(byte))) }
        try data.write(to: weights)
        try expectEvalFailure(folder, mentions: ["model.safetensors", "header", "truncated", "InvalidHeaderLength"])
    }

    func testOverlappingTensorOffsets() throws {
        let folder = try copy("llama-bf16")
        let weights = folder.appendingPathComponent("model.safetensors")
        let (_, original, rest) = parts(try Data(contentsOf: weights))
        var header = original
        // Move the second tensor (in offset order) 2 bytes back into the first; the sizes stay consistent.
        let ordered = header.filter { $0.key != "__metadata__" }
            .sorted {
                (($0.value as! [String: Any])["data_offsets"] as! [Int])[0]
                    < (($1.value as! [String: Any])["data_offsets"] as! [Int])[0]
            }
        var moved = ordered[1].value as! [String: Any]
        let offsets = moved["data_offsets"] as! [Int]
        moved["data_offsets"] = [offsets[0] - 2, offsets[1] - 2]
        header[ordered[1].key] = moved
        var text = try JSONSerialization.data(withJSONObject: header)
        text.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - text.count % 8) % 8))
        var file = Data()
        withUnsafeBytes(of: UInt64(text.count).littleEndian) { file.append(contentsOf: $0) }
        try (file + text + rest).write(to: weights)
        try expectEvalFailure(
            folder, mentions: ["model.safetensors", ordered[1].key, "overlaps the previous tensor by 2 bytes"])
    }

    func testShardMissingFromTheIndex() throws {
        let folder = try copy("llama-sharded")
        let shard = "model-00003-of-00007.safetensors"
        try editJSON(folder, "model.safetensors.index.json") { index in
            index["weight_map"] = (index["weight_map"] as! [String: String]).filter { $0.value != shard }
        }
        try expectEvalFailure(folder, mentions: ["model.safetensors.index.json", shard, "shard 3 of 7"])
    }

    func testShardListedButAbsent() throws {
        let folder = try copy("gpt2-f16-sharded")
        let shard = "model-00002-of-00003.safetensors"
        try FileManager.default.removeItem(at: folder.appendingPathComponent(shard))
        try expectEvalFailure(folder, mentions: ["model.safetensors.index.json", shard, "does not exist"])
    }

    func testUnknownModelType() throws {
        let folder = try copy("llama-gqa-tied")
        try editJSON(folder, "config.json") { $0["model_type"] = "mixtral" }
        try expectEvalFailure(
            folder, mentions: ["config.json", "model_type", "'mixtral'", "gpt2, llama, qwen2, mistral"])
    }

    func testUnsupportedArchitecture() throws {
        let folder = try copy("llama-gqa-tied")
        try editJSON(folder, "config.json") { $0["architectures"] = ["LlamaForQuestionAnswering"] }
        try expectEvalFailure(
            folder, mentions: ["config.json", "architectures", "'LlamaForQuestionAnswering'", "LlamaForCausalLM"])
    }

    /// A config that implies about a terabyte of weights is refused before any weight is read.
    func testModelTooLargeForTheDeviceIsRefusedBeforeLoading() throws {
        let folder = try copy("llama-gqa-tied")
        try FileManager.default.removeItem(at: folder.appendingPathComponent("model.safetensors"))
        try editJSON(folder, "config.json") { config in
            config["hidden_size"] = 65536
            config["head_dim"] = 128
            config["num_attention_heads"] = 512
            config["num_key_value_heads"] = 512
            config["intermediate_size"] = 262_144
            config["num_hidden_layers"] = 16
        }
        try expectEvalFailure(
            folder, mentions: ["does not fit on reference", "parameters", "of memory", "needs about"])
    }

    func testUnsupportedTokenizerType() throws {
        let folder = try copy("tinyllama-spm")
        try editJSON(folder, "tokenizer.json") { tokenizer in
            var model = tokenizer["model"] as! [String: Any]
            model["type"] = "Unigram"
            tokenizer["model"] = model
        }
        try expectEvalFailure(folder, mentions: ["tokenizer.json", "'Unigram'", "BPE"])
    }
}
