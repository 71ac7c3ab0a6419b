import Core
import Formats
import TestSupport
import XCTest

/// Checks files gputrain writes against the Hugging Face Python libraries themselves. Skipped (with
/// the reason printed) unless a Python with `tokenizers`, `safetensors` and `numpy` is found: set
/// `GPUTRAIN_PYTHON` to its path, or have it as `python3` on the PATH. The rest of the suite never
/// needs Python; these tests only widen the evidence when it is there.
final class PythonCrossCheckTests: XCTestCase {
    private func python() throws -> String {
        try PythonRunner.require(["tokenizers", "safetensors", "numpy"])
    }

    private func runScript(_ script: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line)
        throws
    {
        let (status, output) = try PythonRunner.run(try python(), ["-c", script] + arguments)
        XCTAssertEqual(status, 0, output, file: file, line: line)
    }

    func testHuggingFaceLoadsTheTrainedTokenizerAndTrainsTheSameOne() throws {
        _ = try python()
        let folder = try temporaryFolder(self)
        let texts = BPETrainerTests.corpus(lines: 3000, seed: 9)
        let tokenizer = try Tokenizer.train(texts: texts, vocabSize: 900)
        try tokenizer.write(to: folder.appendingPathComponent("tokenizer.json"))
        var random = SeededGenerator(seed: 21)
        let samples = Array(texts.prefix(200)) + (0..<100).map { _ in TokenizerTests.randomText(&random, length: 40) }
        let expected: JSONValue = .array(
            samples.map { text in
                .object(["text": .string(text), "ids": .array(tokenizer.encode(text).map { .int($0) })])
            })
        try AtomicFile.write(expected.serializedData(), to: folder.appendingPathComponent("expected.json"))
        try AtomicFile.write(
            JSONValue.array(texts.map { .string($0) }).serializedData(),
            to: folder.appendingPathComponent("corpus.json"))
        try runScript(
            """
            import json, sys
            from tokenizers import Tokenizer, models, pre_tokenizers, trainers
            folder = sys.argv[1]
            ours = Tokenizer.from_file(folder + "/tokenizer.json")
            for case in json.load(open(folder + "/expected.json", encoding="utf-8")):
                ids = ours.encode(case["text"]).ids
                assert ids == case["ids"], (case["text"], ids, case["ids"])
                assert ours.decode(ids, skip_special_tokens=False) == case["text"], case["text"]
            reference = Tokenizer(models.BPE())
            reference.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            trainer = trainers.BpeTrainer(vocab_size=900, min_frequency=2, show_progress=False,
                special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"],
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
            reference.train_from_iterator(json.load(open(folder + "/corpus.json", encoding="utf-8")), trainer)
            theirs = json.loads(reference.to_str())["model"]
            mine = json.loads(ours.to_str())["model"]
            assert theirs["vocab"] == mine["vocab"], "vocabularies differ"
            assert theirs["merges"] == mine["merges"], "merges differ"
            print("ok")
            """, [folder.path])
    }

    func testSafetensorsLoadsWrittenFilesAndWritesTheSameBytes() throws {
        _ = try python()
        let folder = try temporaryFolder(self)
        let values: [Float] = (0..<24).map { Float($0) * 0.37 - 3 }
        try SafetensorsWriter.write(
            [
                SafetensorsTensor(name: "weight", shape: [4, 6], floats: values),
                SafetensorsTensor(name: "half", shape: [24], floats: values, dtype: .f16),
                SafetensorsTensor(
                    name: "ids", dtype: .i64, shape: [2, 2], bytes: TensorBytes.bytes(of: [1, -2, 3, 40], as: .i64)),
                SafetensorsTensor(name: "scalar", shape: [], floats: [7]),
            ], to: folder.appendingPathComponent("model.safetensors"))
        try runScript(
            """
            import sys, numpy as np
            from safetensors import safe_open
            from safetensors.numpy import save
            path = sys.argv[1] + "/model.safetensors"
            values = np.arange(24, dtype=np.float32) * np.float32(0.37) - np.float32(3)
            with safe_open(path, framework="np") as f:
                assert f.metadata() == {"format": "pt"}, f.metadata()
                tensors = {name: f.get_tensor(name) for name in f.keys()}
            assert np.array_equal(tensors["weight"], values.reshape(4, 6))
            assert np.array_equal(tensors["half"], values.astype(np.float16))
            assert tensors["ids"].tolist() == [[1, -2], [3, 40]]
            assert tensors["scalar"].shape == () and tensors["scalar"] == 7
            assert save(tensors, metadata={"format": "pt"}) == open(path, "rb").read(), "bytes differ from safetensors' own writer"
            print("ok")
            """, [folder.path])
    }
}
