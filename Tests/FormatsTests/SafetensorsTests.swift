import Core
import Formats
import XCTest

final class SafetensorsTests: XCTestCase {
    /// The tensor names and shapes transformers saves for a GPT-2 or Llama-family config (docs/formats.md §3.1–3.3).
    private func expectedShapes(_ config: ModelConfig) -> [String: [Int]] {
        let d = config.hiddenSize
        let v = config.vocabSize
        let inner = config.intermediateSize
        var shapes: [String: [Int]] = [:]
        switch config.modelType {
        case .gpt2:
            shapes["transformer.wte.weight"] = [v, d]
            shapes["transformer.wpe.weight"] = [config.maxPositions, d]
            shapes["transformer.ln_f.weight"] = [d]
            shapes["transformer.ln_f.bias"] = [d]
            for layer in 0..<config.layerCount {
                let p = "transformer.h.\(layer)."
                for norm in ["ln_1", "ln_2"] {
                    shapes[p + norm + ".weight"] = [d]
                    shapes[p + norm + ".bias"] = [d]
                }
                shapes[p + "attn.c_attn.weight"] = [d, 3 * d]
                shapes[p + "attn.c_attn.bias"] = [3 * d]
                shapes[p + "attn.c_proj.weight"] = [d, d]
                shapes[p + "attn.c_proj.bias"] = [d]
                shapes[p + "mlp.c_fc.weight"] = [d, inner]
                shapes[p + "mlp.c_fc.bias"] = [inner]
                shapes[p + "mlp.c_proj.weight"] = [inner, d]
                shapes[p + "mlp.c_proj.bias"] = [d]
            }
        case .llama, .qwen2, .mistral:
            let q = config.headCount * config.headDimension
            let kv = config.keyValueHeadCount * config.headDimension
            shapes["model.embed_tokens.weight"] = [v, d]
            shapes["model.norm.weight"] = [d]
            if !config.tieWordEmbeddings { shapes["lm_head.weight"] = [v, d] }
            for layer in 0..<config.layerCount {
                let p = "model.layers.\(layer)."
                shapes[p + "input_layernorm.weight"] = [d]
                shapes[p + "post_attention_layernorm.weight"] = [d]
                let projections = [
                    ("self_attn.q_proj", [q, d], config.queryKeyValueBias),
                    ("self_attn.k_proj", [kv, d], config.queryKeyValueBias),
                    ("self_attn.v_proj", [kv, d], config.queryKeyValueBias),
                    ("self_attn.o_proj", [d, q], config.attentionOutputBias),
                    ("mlp.gate_proj", [inner, d], config.mlpBias), ("mlp.up_proj", [inner, d], config.mlpBias),
                    ("mlp.down_proj", [d, inner], config.mlpBias),
                ]
                for (name, shape, bias) in projections {
                    shapes[p + name + ".weight"] = shape
                    if bias { shapes[p + name + ".bias"] = [shape[0]] }
                }
            }
        }
        return shapes
    }

    /// The safetensors dtype of a config's `dtype` / `torch_dtype`.
    private func storedType(_ config: ModelConfig) -> SafetensorsDType? {
        ["float32": .f32, "bfloat16": .bf16, "float16": .f16][config.dtype ?? "float32"]
    }

    func testFixturesHoldTheTensorsTheirConfigDescribes() throws {
        for model in FixtureFiles.models {
            let config = try ModelConfig(contentsOf: FixtureFiles.url("\(model)/config.json"))
            let checkpoint = try SafetensorsCheckpoint(folder: FixtureFiles.url(model))
            var actual: [String: [Int]] = [:]
            for file in checkpoint.files {
                XCTAssertEqual(file.metadata, ["format": "pt"], model)
                for tensor in file.tensors {
                    XCTAssertEqual(tensor.dtype, storedType(config), "\(model): \(tensor.name)")
                    actual[tensor.name] = tensor.shape
                }
            }
            XCTAssertEqual(actual, expectedShapes(config), model)
            let embedding = try checkpoint.floats(
                config.modelType == .gpt2 ? "transformer.wte.weight" : "model.embed_tokens.weight")
            XCTAssertEqual(embedding.count, config.vocabSize * config.hiddenSize)
            XCTAssertTrue(embedding.allSatisfy(\.isFinite))
            XCTAssertGreaterThan(embedding.map(abs).max()!, 0)
        }
    }

    func testRewritingTheFixturesReproducesTheReferenceWritersBytes() throws {
        var files = 0
        for model in FixtureFiles.models {
            for file in try SafetensorsCheckpoint(folder: FixtureFiles.url(model)).files {
                let tensors = try file.tensors.reversed().map {
                    SafetensorsTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: try file.rawData($0.name))
                }
                XCTAssertEqual(
                    try SafetensorsWriter.fileData(tensors), try Data(contentsOf: URL(fileURLWithPath: file.fileName)),
                    file.fileName)
                files += 1
            }
        }
        XCTAssertGreaterThan(files, FixtureFiles.models.count, "sharded fixtures add files")
    }

    func testWrittenFileReadsBackIdenticallyAndIsWrittenAtomically() throws {
        let folder = try temporaryFolder(self)
        var random = SeededGenerator(seed: 7)
        let values = (0..<60).map { _ in random.nextNormal() }
        let tensors = [
            SafetensorsTensor(name: "b.weight", shape: [3, 20], floats: values),
            SafetensorsTensor(name: "a.half", shape: [60], floats: values, dtype: .f16),
            SafetensorsTensor(name: "a.brain", shape: [6, 10], floats: values, dtype: .bf16),
            SafetensorsTensor(name: "scalar", shape: [], floats: [2.5]),
            SafetensorsTensor(name: "empty", shape: [0, 4], floats: []),
            SafetensorsTensor(
                name: "ids", dtype: .i64, shape: [3], bytes: TensorBytes.bytes(of: [1, -2, 3], as: .i64)),
            SafetensorsTensor(name: "mask", dtype: .bool, shape: [2], bytes: Data([1, 0])),
        ]
        let url = folder.appendingPathComponent("nested/model.safetensors")
        try SafetensorsWriter.write(tensors, to: url)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path),
            ["model.safetensors"])

        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(
            file.names, ["ids", "b.weight", "empty", "scalar", "a.brain", "a.half", "mask"],
            "dtype descending, then name")
        XCTAssertEqual(try file.floats("b.weight"), values)
        XCTAssertEqual(
            try file.floats("a.half"), values.map { HalfPrecision.float(fromFloat16: HalfPrecision.float16(from: $0)) })
        XCTAssertEqual(
            try file.floats("a.brain"),
            values.map { HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(from: $0)) })
        XCTAssertEqual(try file.info("scalar").shape, [])
        XCTAssertEqual(try file.floats("scalar"), [2.5])
        XCTAssertEqual(try file.floats("empty"), [])
        XCTAssertEqual(try file.integers("ids"), [1, -2, 3])
        XCTAssertEqual(try file.integers("mask"), [1, 0])
        for tensor in tensors {
            XCTAssertEqual(try file.rawData(tensor.name), tensor.bytes, tensor.name)
            XCTAssertEqual(try file.info(tensor.name).shape, tensor.shape, tensor.name)
        }
        // Header padded to 8 bytes, so each tensor starts aligned to its element size.
        let bytes = try Data(contentsOf: url)
        let headerSize = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
        XCTAssertEqual(headerSize % 8, 0)
        for info in file.tensors {
            XCTAssertEqual(info.dataOffsets.lowerBound % (info.dtype.bitsPerElement / 8), 0, info.name)
        }
        assertFormatError(try file.floats("ids"), mentions: ["'ids'", "I64"])
        assertFormatError(try file.info("missing"), mentions: ["'missing'", "TensorNotFound"])
    }

    func testEmptyFileMatchesTheReferenceLayout() throws {
        XCTAssertEqual(
            try SafetensorsWriter.fileData([], metadata: [:]), Data([8, 0, 0, 0, 0, 0, 0, 0]) + Data("{}      ".utf8))
        let withMetadata = try SafetensorsWriter.fileData([])
        XCTAssertEqual(String(decoding: withMetadata.dropFirst(8), as: UTF8.self), #"{"__metadata__":{"format":"pt"}}"#)
        XCTAssertEqual(try SafetensorsFile(data: withMetadata, fileName: "empty").tensors, [])
    }

    func testWriterRejectsInconsistentTensors() {
        let good = SafetensorsTensor(name: "w", shape: [2], floats: [1, 2])
        assertFormatError(try SafetensorsWriter.fileData([good, good]), mentions: ["'w'", "twice"])
        let short = SafetensorsTensor(name: "w", dtype: .f32, shape: [3], bytes: Data(count: 8))
        assertFormatError(try SafetensorsWriter.fileData([short]), mentions: ["'w'", "needs 12 bytes", "8"])
    }

    func testHalfPrecisionConversionsRoundTripEveryValue() {
        for bits in 0...UInt16.max {
            let value = HalfPrecision.float(fromFloat16: bits)
            if value.isNaN {
                XCTAssertTrue(HalfPrecision.float(fromFloat16: HalfPrecision.float16(from: value)).isNaN)
            } else {
                XCTAssertEqual(HalfPrecision.float16(from: value), bits, "half 0x\(String(bits, radix: 16))")
            }
            let brain = HalfPrecision.float(fromBFloat16: bits)
            if !brain.isNaN { XCTAssertEqual(HalfPrecision.bfloat16(from: brain), bits) }
        }
        XCTAssertEqual(HalfPrecision.float(fromFloat16: 0x3C00), 1)
        XCTAssertEqual(HalfPrecision.float(fromFloat16: 0x0001), 0x1p-24)
        XCTAssertEqual(HalfPrecision.float16(from: 65520), 0x7C00, "rounds up to infinity")
        XCTAssertEqual(HalfPrecision.float16(from: 1 + 0x1p-11), 0x3C00, "tie rounds to even")
        XCTAssertEqual(HalfPrecision.float16(from: 1 + 3 * 0x1p-11), 0x3C02, "tie rounds to even")
        XCTAssertEqual(HalfPrecision.float16(from: 0x1p-25), 0, "tie at the smallest subnormal rounds to zero")
        XCTAssertEqual(HalfPrecision.bfloat16(from: Float(bitPattern: 0x3F80_8000)), 0x3F80, "tie rounds to even")
        XCTAssertEqual(HalfPrecision.bfloat16(from: Float(bitPattern: 0x3F81_8000)), 0x3F82, "tie rounds to even")
        XCTAssertTrue(HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(from: .nan)).isNaN)
    }

    // MARK: Validation (docs/formats.md §1.4), one crafted file per rule

    /// A file with `header` as its JSON header, `dataBytes` zero bytes of data, and optionally a
    /// different declared header length.
    private func crafted(_ header: String, dataBytes: Int, declaredSize: UInt64? = nil) -> Data {
        let json = Data(header.utf8)
        var file = Data()
        withUnsafeBytes(of: (declaredSize ?? UInt64(json.count)).littleEndian) { file.append(contentsOf: $0) }
        return file + json + Data(count: dataBytes)
    }

    private func assertRejected(_ file: Data, mentions phrases: [String], line: UInt = #line) {
        assertFormatError(
            try SafetensorsFile(data: file, fileName: "bad.safetensors"), mentions: ["bad.safetensors"] + phrases,
            line: line)
    }

    private let twoTensors =
        #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#

    func testWellFormedCraftedFileIsAccepted() throws {
        let file = try SafetensorsFile(data: crafted(twoTensors, dataBytes: 12), fileName: "good")
        XCTAssertEqual(file.names, ["a", "b"])
    }

    func testRejectsFilesShorterThanTheLengthPrefix() {
        assertRejected(Data([1, 0, 0]), mentions: ["3 bytes", "HeaderTooSmall"])
    }

    func testRejectsHeaderLargerThanTheLimit() {
        assertRejected(
            crafted("{}", dataBytes: 0, declaredSize: 100_000_001), mentions: ["100000001", "HeaderTooLarge"])
        assertRejected(crafted("{}", dataBytes: 0, declaredSize: UInt64.max), mentions: ["HeaderTooLarge"])
    }

    func testRejectsHeaderRunningPastTheEndOfTheFile() {
        assertRejected(
            crafted("{}", dataBytes: 0, declaredSize: 50),
            mentions: ["50-byte header", "truncated", "InvalidHeaderLength"])
    }

    func testRejectsHeaderThatIsNotUTF8() {
        var file = crafted(#"{"x":1}"#, dataBytes: 0)
        file[10] = 0xFF
        assertRejected(file, mentions: ["UTF-8", "InvalidHeader"])
    }

    func testRejectsHeaderThatIsNotAJSONObject() {
        assertRejected(crafted("[1, 2]", dataBytes: 0), mentions: ["JSON object", "an array"])
        assertRejected(crafted(#"{"a": }"#, dataBytes: 0), mentions: ["not valid JSON", "line 1"])
    }

    func testRejectsMetadataThatIsNotStringToString() {
        assertRejected(
            crafted(#"{"__metadata__":{"format":"pt","step":3}}"#, dataBytes: 0),
            mentions: ["__metadata__", "'step'", "string"])
        assertRejected(
            crafted(#"{"__metadata__":{"nested":{"a":"b"}}}"#, dataBytes: 0), mentions: ["__metadata__", "'nested'"])
    }

    func testRejectsUnknownDType() {
        assertRejected(
            crafted(#"{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#, dataBytes: 16),
            mentions: ["'a'", "unknown dtype 'F128'", "BF16"])
    }

    func testRejectsTensorEntriesWithMissingFields() {
        assertRejected(
            crafted(#"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#, dataBytes: 4), mentions: ["'a'", "shape"])
        assertRejected(
            crafted(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, dataBytes: 4),
            mentions: ["'a'", "data_offsets"])
        assertRejected(
            crafted(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, dataBytes: 4),
            mentions: ["'a'", "non-negative"])
        assertRejected(
            crafted(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}"#, dataBytes: 4),
            mentions: ["'a'", "integers"])
    }

    func testRejectsOverlappingOffsets() {
        let header =
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        assertRejected(crafted(header, dataBytes: 12), mentions: ["'b'", "overlaps", "4 bytes", "InvalidOffset"])
    }

    func testRejectsGapsBetweenTensors() {
        let header =
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        assertRejected(crafted(header, dataBytes: 12), mentions: ["'b'", "gap of 4 bytes", "InvalidOffset"])
        let notFromZero = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        assertRejected(crafted(notFromZero, dataBytes: 8), mentions: ["'a'", "gap", "offset 0"])
    }

    func testRejectsEndBeforeBegin() {
        assertRejected(
            crafted(#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#, dataBytes: 4),
            mentions: ["'a'", "end before begin"])
    }

    func testRejectsByteSizesThatDisagreeWithTheShape() {
        let header = #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#
        assertRejected(
            crafted(header, dataBytes: 12),
            mentions: ["'a'", "12 bytes", "F32 [2, 2] needs 16 bytes", "TensorInvalidInfo"])
    }

    func testRejectsShapesWhoseSizeOverflows() {
        let header = #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#
        assertRejected(crafted(header, dataBytes: 4), mentions: ["'a'", "ValidationOverflow"])
    }

    func testRejectsSubByteTensorsThatDoNotFillWholeBytes() {
        assertRejected(
            crafted(#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#, dataBytes: 2),
            mentions: ["'a'", "MisalignedSlice"])
    }

    func testRejectsTrailingBytes() {
        assertRejected(
            crafted(twoTensors, dataBytes: 13), mentions: ["1 unexpected trailing bytes", "MetadataIncompleteBuffer"])
    }

    func testRejectsTruncatedData() {
        assertRejected(
            crafted(twoTensors, dataBytes: 10),
            mentions: ["truncated", "need 12 data bytes", "only 10", "MetadataIncompleteBuffer"])
    }

    func testRejectsDuplicateKeys() {
        let header =
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        assertRejected(crafted(header, dataBytes: 8), mentions: ["duplicate key \"a\""])
    }

    // MARK: Sharded checkpoints

    private func writeShards(_ folder: URL, index: JSONValue, shards: [String: [String]]) throws {
        for (shard, names) in shards {
            try SafetensorsWriter.write(
                names.map { SafetensorsTensor(name: $0, shape: [1], floats: [Float($0.count)]) },
                to: folder.appendingPathComponent(shard))
        }
        try AtomicFile.write(
            index.serializedData(.pretty), to: folder.appendingPathComponent(SafetensorsCheckpoint.indexFileName))
    }

    func testShardedCheckpointJoinsItsShards() throws {
        let folder = try temporaryFolder(self)
        let first = "model-00001-of-00002.safetensors"
        let second = "model-00002-of-00002.safetensors"
        try writeShards(
            folder,
            index: .object([
                "metadata": .object(["total_size": 12]),
                "weight_map": .object([
                    "a": .string(first), "bb": .string(first), "ccc": .string(second),
                ]),
            ]), shards: [first: ["a", "bb"], second: ["ccc"]])
        let checkpoint = try SafetensorsCheckpoint(folder: folder)
        XCTAssertEqual(checkpoint.names, ["a", "bb", "ccc"])
        XCTAssertEqual(try checkpoint.floats("ccc"), [3])
        XCTAssertEqual(checkpoint.files.count, 2)
    }

    func testShardedCheckpointRejectsATensorInTwoShards() throws {
        let folder = try temporaryFolder(self)
        let first = "model-00001-of-00002.safetensors"
        let second = "model-00002-of-00002.safetensors"
        try writeShards(
            folder, index: .object(["weight_map": .object(["a": .string(first), "b": .string(second)])]),
            shards: [first: ["a"], second: ["a", "b"]])
        assertFormatError(
            try SafetensorsCheckpoint(folder: folder), mentions: ["'a'", "also appears", "exactly one shard"])
    }

    func testShardedCheckpointRejectsAnIndexThatDisagreesWithItsShards() throws {
        let folder = try temporaryFolder(self)
        let only = "model-00001-of-00001.safetensors"
        try writeShards(
            folder, index: .object(["weight_map": .object(["a": .string(only), "ghost": .string(only)])]),
            shards: [only: ["a"]])
        assertFormatError(try SafetensorsCheckpoint(folder: folder), mentions: ["'ghost'", "no shard contains it"])
    }

    func testShardedCheckpointNamesAShardTheIndexListsButTheFolderLacks() throws {
        let folder = try temporaryFolder(self)
        let first = "model-00001-of-00002.safetensors"
        let second = "model-00002-of-00002.safetensors"
        try writeShards(
            folder,
            index: .object(["weight_map": .object(["a": .string(first), "b": .string(second), "c": .string(second)])]),
            shards: [first: ["a"]])
        assertFormatError(
            try SafetensorsCheckpoint(folder: folder),
            mentions: [SafetensorsCheckpoint.indexFileName, second, "2 tensors (first 'b')", "does not exist"])
    }

    func testShardedCheckpointNamesAShardMissingFromTheIndex() throws {
        let folder = try temporaryFolder(self)
        let names = (1...3).map { "model-0000\($0)-of-00003.safetensors" }
        try writeShards(
            folder, index: .object(["weight_map": .object(["a": .string(names[0]), "c": .string(names[2])])]),
            shards: [names[0]: ["a"], names[1]: ["b"], names[2]: ["c"]])
        assertFormatError(
            try SafetensorsCheckpoint(folder: folder),
            mentions: [
                SafetensorsCheckpoint.indexFileName, names[1], "shard 2 of 3", "which is in the folder", "incomplete",
            ])
        try FileManager.default.removeItem(at: folder.appendingPathComponent(names[1]))
        assertFormatError(try SafetensorsCheckpoint(folder: folder), mentions: [names[1], "not in the folder either"])
    }

    func testShardedCheckpointRejectsShardPathsOutsideTheFolder() throws {
        let folder = try temporaryFolder(self)
        try writeShards(
            folder, index: .object(["weight_map": .object(["a": .string("../model.safetensors")])]), shards: [:])
        assertFormatError(
            try SafetensorsCheckpoint(folder: folder),
            mentions: ["weight_map.a", "'../model.safetensors'", "file names"])
    }

    func testFolderWithoutWeightsSaysWhatIsMissing() throws {
        let folder = try temporaryFolder(self)
        assertFormatError(
            try SafetensorsCheckpoint(folder: folder),
            mentions: [SafetensorsCheckpoint.singleFileName, SafetensorsCheckpoint.indexFileName])
        try Data([0x80]).write(to: folder.appendingPathComponent("pytorch_model.bin"))
        assertFormatError(
            try SafetensorsCheckpoint(folder: folder), mentions: ["pytorch_model.bin", "safe_serialization"])
    }

    /// Opening maps the file instead of reading it: a 256 MiB tensor (a sparse file, so no disk
    /// is used) adds far less than its size to the process's anonymous memory, and a tensor's raw
    /// data is a slice of the mapping.
    func testFilesAreMemoryMappedNotRead() throws {
        #if os(Linux)
            let url = try temporaryFolder(self).appendingPathComponent("big.safetensors")
            let count = 256 << 20
            let text = #"{"big":{"dtype":"U8","shape":[\#(count)],"data_offsets":[0,\#(count)]}}"#
            var prefix = Data()
            withUnsafeBytes(of: UInt64(text.utf8.count).littleEndian) { prefix.append(contentsOf: $0) }
            prefix.append(contentsOf: Array(text.utf8))
            XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: prefix))
            let handle = try FileHandle(forWritingTo: url)
            try handle.truncate(atOffset: UInt64(prefix.count + count))
            try handle.close()

            let before = try anonymousMemory()
            let file = try SafetensorsFile(contentsOf: url)
            let raw = try file.rawData("big")
            XCTAssertEqual(raw.count, count)
            XCTAssertLessThan(
                try anonymousMemory() - before, count / 8, "the file must be mapped, not copied into memory")
        #else
            throw XCTSkip("reads /proc/self/status")
        #endif
    }

    /// RssAnon of this process in bytes (Linux).
    private func anonymousMemory() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") })
        return try XCTUnwrap(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])) * 1024
    }

    func testUnshardedCheckpointOpensTheSingleFile() throws {
        let checkpoint = try SafetensorsCheckpoint(folder: FixtureFiles.url("llama-tiny"))
        XCTAssertTrue(checkpoint.contains("lm_head.weight"))
        XCTAssertEqual(try checkpoint.info("model.norm.weight").shape, [64])
    }
}
