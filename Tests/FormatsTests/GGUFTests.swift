import Formats
import Foundation
import TestSupport
import XCTest

/// Builds GGUF bytes field by field, independently of `GGUFWriter`, so that tests can state the
/// expected layout of docs/formats.md §5.1 directly and make the broken files the writer refuses to make.
struct RawGGUF {
    private(set) var bytes = Data()

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ value: String) {
        u64(UInt64(value.utf8.count))
        bytes.append(contentsOf: Array(value.utf8))
    }

    /// Magic, version and the two counts.
    mutating func header(version: UInt32 = 3, tensors: Int, keys: Int) {
        bytes.append(contentsOf: Array("GGUF".utf8))
        u32(version)
        u64(UInt64(tensors))
        u64(UInt64(keys))
    }

    /// A string-valued key.
    mutating func stringKey(_ key: String, _ value: String) {
        string(key)
        u32(8)
        string(value)
    }

    /// A u32-valued key.
    mutating func u32Key(_ key: String, _ value: UInt32) {
        string(key)
        u32(4)
        u32(value)
    }

    mutating func tensorInfo(_ name: String, dimensions: [UInt64], type: UInt32 = 0, offset: UInt64) {
        string(name)
        u32(UInt32(dimensions.count))
        dimensions.forEach { u64($0) }
        u32(type)
        u64(offset)
    }

    /// Zeros up to a multiple of `alignment`.
    mutating func pad(_ alignment: Int = 32) {
        bytes.append(Data(count: (alignment - bytes.count % alignment) % alignment))
    }

    mutating func floats(_ values: [Float]) { values.forEach { u32($0.bitPattern) } }

    /// A valid file with one key and `tensors` F32 tensors of 4 elements each, packed at 32 bytes.
    static func valid(tensors: Int = 2) -> RawGGUF {
        var file = RawGGUF()
        file.header(tensors: tensors, keys: 1)
        file.stringKey("general.architecture", "llama")
        for index in 0..<tensors { file.tensorInfo("t\(index)", dimensions: [4], offset: UInt64(32 * index)) }
        file.pad()
        for index in 0..<tensors {
            file.floats([1, 2, 3, Float(index)])
            file.pad()
        }
        return file
    }
}

/// The GGUF writer and reader (docs/formats.md §5.1–5.3): round trips of metadata and tensors, the exact
/// byte layout, and the reader's refusal of every structural fault ggml refuses, each with an
/// error that says what is wrong.
final class GGUFTests: XCTestCase {
    private func open(_ file: RawGGUF) throws -> GGUFFile { try GGUFFile(data: file.bytes, fileName: "test.gguf") }

    private static let everyType: GGUFMetadata = {
        var metadata = GGUFMetadata()
        metadata["general.architecture"] = .string("llama")
        metadata["test.u8"] = .uint8(200)
        metadata["test.i8"] = .int8(-100)
        metadata["test.u16"] = .uint16(60000)
        metadata["test.i16"] = .int16(-30000)
        metadata["test.u32"] = .uint32(4_000_000_000)
        metadata["test.i32"] = .int32(-2_000_000_000)
        metadata["test.f32"] = .float32(1e-6)
        metadata["test.true"] = .bool(true)
        metadata["test.false"] = .bool(false)
        metadata["test.string"] = .string("ünïcode ▁ and \"quotes\"\n")
        metadata["test.empty_string"] = .string("")
        metadata["test.u64"] = .uint64(UInt64.max)
        metadata["test.i64"] = .int64(Int64.min)
        metadata["test.f64"] = .float64(-1.25e300)
        metadata["test.strings"] = .strings(["a", "Ġb c", "<|im_end|>", ""])
        metadata["test.ints"] = .int32s([1, -2, 3])
        metadata["test.floats"] = .float32s([0.5, -1000, .infinity])
        metadata["test.bytes"] = .array(elementType: .uint8, [.uint8(1), .uint8(255)])
        metadata["test.empty_array"] = .array(elementType: .float32, [])
        return metadata
    }()

    func testWrittenFileReadsBackWithEveryValueTypeAndTensorType() throws {
        let matrix: [Float] = (0..<15).map { Float($0) * 0.37 - 2 }
        let halves: [Float] = [0, 1, -2.5, 65504, 0.1, 1e-7, 3.14159]
        let writer = GGUFWriter(
            metadata: Self.everyType,
            tensors: [
                GGUFTensor(name: "matrix", dimensions: [5, 3]) { matrix },
                GGUFTensor(name: "half", dimensions: [7], type: .f16) { halves },
                GGUFTensor(name: "brain", dimensions: [2, 2], type: .bf16) { [1, -0.5, 3.140625, 100] },
            ])
        let folder = try temporaryFolder(self)
        let url = folder.appendingPathComponent("model.gguf")
        try writer.write(to: url)
        let bytes = try Data(contentsOf: url)
        XCTAssertEqual(
            bytes, try writer.fileData(), "streaming to disk writes the same bytes as building the file in memory")

        let file = try GGUFFile(contentsOf: url)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.metadata, Self.everyType, "keys, order, types and values survive")
        XCTAssertEqual(file.alignment, 32)
        XCTAssertEqual(file.dataStart % 32, 0)
        XCTAssertEqual(file.names, ["matrix", "half", "brain"])
        let matrixInfo = try file.tensor("matrix")
        XCTAssertEqual(matrixInfo.dimensions, [5, 3])
        XCTAssertEqual(matrixInfo.shape, [3, 5])
        XCTAssertEqual(matrixInfo.type, .f32)
        XCTAssertEqual(file.tensors.map(\.offset), [0, 64, 96], "60, 14 and 8 bytes, each padded to 32")
        XCTAssertEqual(try file.floats("matrix"), matrix)
        XCTAssertEqual(try file.tensor("half").type, .f16)
        XCTAssertEqual(
            try file.floats("half"), halves.map { HalfPrecision.float(fromFloat16: HalfPrecision.float16(from: $0)) })
        XCTAssertEqual(
            try file.floats("half").prefix(4), [0, 1, -2.5, 65504], "values a half holds exactly come back exactly")
        XCTAssertEqual(try file.floats("brain"), [1, -0.5, 3.140625, 100])
        XCTAssertEqual(bytes.count, file.dataStart + 96 + 32, "the last tensor is padded too")
    }

    func testBytesFollowTheSpecificationExactly() throws {
        var metadata = GGUFMetadata()
        metadata["general.architecture"] = .string("llama")
        metadata["general.alignment"] = .uint32(32)
        let written = try GGUFWriter(
            metadata: metadata,
            tensors: [
                GGUFTensor(name: "a", dimensions: [2]) { [1.5, -2] },
                GGUFTensor(name: "b.weight", dimensions: [3, 2], type: .f16) { [1, 2, 3, 4, 5, 6] },
            ]
        ).fileData()
        var expected = RawGGUF()
        expected.header(tensors: 2, keys: 2)
        expected.stringKey("general.architecture", "llama")
        expected.u32Key("general.alignment", 32)
        expected.tensorInfo("a", dimensions: [2], type: 0, offset: 0)
        expected.tensorInfo("b.weight", dimensions: [3, 2], type: 1, offset: 32)
        expected.pad()
        expected.floats([1.5, -2])
        expected.pad()
        for half: UInt16 in [0x3C00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600] {
            expected.u8(UInt8(half & 0xFF))
            expected.u8(UInt8(half >> 8))
        }
        expected.pad()
        XCTAssertEqual(written, expected.bytes)
        XCTAssertEqual(
            Array(written.prefix(8)), [0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0], "magic 'GGUF', then version 3 little-endian"
        )
    }

    func testReaderAcceptsAHandBuiltFileAndAnotherAlignment() throws {
        let file = try open(RawGGUF.valid())
        XCTAssertEqual(try file.floats("t1"), [1, 2, 3, 1])

        var aligned = RawGGUF()
        aligned.header(tensors: 2, keys: 1)
        aligned.u32Key("general.alignment", 64)
        aligned.tensorInfo("x", dimensions: [2], offset: 0)
        aligned.tensorInfo("y", dimensions: [1], offset: 64)
        aligned.pad(64)
        aligned.floats([7, 8])
        aligned.pad(64)
        aligned.floats([9])
        let reread = try open(aligned)
        XCTAssertEqual(reread.alignment, 64)
        XCTAssertEqual(reread.dataStart % 64, 0)
        XCTAssertEqual(try reread.floats("y"), [9], "the last tensor needs no trailing padding to be read")
    }

    // MARK: Reader refusals

    func testReaderRejectsFilesThatAreNotGGUF() {
        let wrongMagic = RawGGUF(bytesReplacingPrefix: Array("GGML".utf8), of: RawGGUF.valid())
        assertFormatError(try open(wrongMagic), mentions: ["test.gguf", "magic 'GGUF'", "found 'GGML'"])
        assertFormatError(
            try GGUFFile(data: Data("GG".utf8), fileName: "tiny.gguf"), mentions: ["tiny.gguf", "too short"])
        var version1 = RawGGUF()
        version1.header(version: 1, tensors: 0, keys: 0)
        assertFormatError(try open(version1), mentions: ["version 1", "versions 2 and 3"])
    }

    func testReaderRejectsTruncatedFiles() {
        let whole = RawGGUF.valid().bytes
        // Cut in the header, in the metadata, in the tensor infos and in the last tensor's data.
        for length in [10, 30, 70, whole.count - 40] {
            assertFormatError(
                try GGUFFile(data: whole.prefix(length), fileName: "cut.gguf"), mentions: ["cut.gguf", "truncated"])
        }
        var claimsTooMuch = RawGGUF()
        claimsTooMuch.header(tensors: 0, keys: 1_000_000)
        assertFormatError(try open(claimsTooMuch), mentions: ["1000000 metadata keys"])
        var hugeArray = RawGGUF()
        hugeArray.header(tensors: 0, keys: 1)
        hugeArray.string("test.array")
        hugeArray.u32(9)
        hugeArray.u32(6)
        hugeArray.u64(1 << 40)
        assertFormatError(try open(hugeArray), mentions: ["test.array", "claims 1099511627776 elements"])
    }

    func testReaderRejectsMisalignedOverlappingAndGappedOffsets() {
        func twoTensors(secondOffset: UInt64) -> RawGGUF {
            var file = RawGGUF()
            file.header(tensors: 2, keys: 0)
            file.tensorInfo("first", dimensions: [4], offset: 0)
            file.tensorInfo("second", dimensions: [4], offset: secondOffset)
            file.pad()
            file.append(Data(count: 128))
            return file
        }
        assertFormatError(
            try open(twoTensors(secondOffset: 16)), mentions: ["'second'", "16", "not a multiple of the alignment 32"])
        assertFormatError(
            try open(twoTensors(secondOffset: 0)), mentions: ["'second'", "inside tensor 'first'", "must not overlap"])
        assertFormatError(try open(twoTensors(secondOffset: 64)), mentions: ["'second'", "end at 32", "no gaps"])
        var outside = RawGGUF()
        outside.header(tensors: 1, keys: 0)
        outside.tensorInfo("big", dimensions: [1000], offset: 0)
        outside.pad()
        outside.floats([1, 2])
        assertFormatError(try open(outside), mentions: ["'big'", "truncated"])
    }

    func testReaderRejectsBadMetadata() {
        func file(_ build: (inout RawGGUF) -> Void, keys: Int) -> RawGGUF {
            var file = RawGGUF()
            file.header(tensors: 0, keys: keys)
            build(&file)
            return file
        }
        assertFormatError(
            try open(
                file(
                    {
                        $0.stringKey("a.b", "x")
                        $0.stringKey("a.b", "y")
                    }, keys: 2)), mentions: ["'a.b'", "appears twice"])
        assertFormatError(
            try open(file({ $0.u32Key("general.alignment", 48) }, keys: 1)),
            mentions: ["general.alignment", "48", "power of two"])
        assertFormatError(try open(file({ $0.u32Key("general.alignment", 0) }, keys: 1)), mentions: ["power of two"])
        assertFormatError(
            try open(file({ $0.stringKey("general.alignment", "32") }, keys: 1)),
            mentions: ["general.alignment", "u32"])
        assertFormatError(
            try open(
                file(
                    {
                        $0.string("flag")
                        $0.u32(7)
                        $0.u8(2)
                    }, keys: 1)), mentions: ["'flag'", "stored as 2", "0 or 1"])
        assertFormatError(
            try open(
                file(
                    {
                        $0.string("odd")
                        $0.u32(13)
                    }, keys: 1)), mentions: ["'odd'", "13", "not a GGUF value type"])
        assertFormatError(
            try open(
                file(
                    {
                        $0.string("")
                        $0.u32(4)
                        $0.u32(1)
                    }, keys: 1)), mentions: ["key 0", "non-empty"])
        let badUTF8 = file(
            { f in
                f.string("name")
                f.u32(8)
                f.u64(2)
                f.u8(0xC3)
                f.u8(0x28)
            }, keys: 1)
        assertFormatError(try open(badUTF8), mentions: ["'name'", "not valid UTF-8"])
    }

    func testReaderRejectsBadTensorInfos() {
        func file(_ name: String = "t", dimensions: [UInt64] = [32], type: UInt32 = 0, count: Int = 1) -> RawGGUF {
            var file = RawGGUF()
            file.header(tensors: count, keys: 0)
            for _ in 0..<count { file.tensorInfo(name, dimensions: dimensions, type: type, offset: 0) }
            file.pad()
            file.append(Data(count: 4096))
            return file
        }
        assertFormatError(
            try open(file(String(repeating: "n", count: 64))), mentions: ["64-byte name", "GGML_MAX_NAME"])
        assertFormatError(try open(file(count: 2)), mentions: ["'t'", "appears twice"])
        assertFormatError(try open(file(dimensions: [1, 1, 1, 1, 1])), mentions: ["5 dimensions", "1 to 4"])
        assertFormatError(try open(file(dimensions: [])), mentions: ["0 dimensions"])
        assertFormatError(try open(file(type: 4)), mentions: ["ggml type 4", "does not define"])
        assertFormatError(try open(file(dimensions: [16], type: 8)), mentions: ["16 elements", "Q8_0 blocks of 32"])
        assertFormatError(try open(file(dimensions: [1 << 40, 1 << 40])), mentions: ["overflows"])
        let quantized = try? open(file(dimensions: [32, 2], type: 8))
        XCTAssertEqual(
            quantized?.tensors.first?.byteCount, 68, "two Q8_0 blocks of 34 bytes: quantized files are checked too")
    }

    // MARK: Writer refusals

    func testWriterRefusesWhatGGMLWouldRefuse() throws {
        func write(_ tensors: [GGUFTensor], metadata: GGUFMetadata = GGUFMetadata()) throws -> Data {
            try GGUFWriter(metadata: metadata, tensors: tensors).fileData()
        }
        let tensor = { (name: String) in GGUFTensor(name: name, dimensions: [2]) { [1, 2] } }
        assertFormatError(try write([tensor("x"), tensor("x")]), mentions: ["'x'", "appears twice"])
        assertFormatError(try write([tensor(String(repeating: "n", count: 64))]), mentions: ["GGML_MAX_NAME"])
        assertFormatError(
            try write([GGUFTensor(name: "wrong", dimensions: [3]) { [1, 2] }]),
            mentions: ["'wrong'", "needs 12 bytes but 8"])
        assertFormatError(try write([GGUFTensor(name: "flat", dimensions: []) { [] }]), mentions: ["0 dimensions"])
        assertFormatError(
            try write([GGUFTensor(name: "q", dimensions: [1, 2, 3, 4, 5]) { [] }]), mentions: ["5 dimensions"])
        var metadata = GGUFMetadata()
        metadata["general.alignment"] = .uint64(32)
        assertFormatError(try write([], metadata: metadata), mentions: ["general.alignment", "u32 power of two"])
        metadata = GGUFMetadata()
        metadata["test.nested"] = .array(elementType: .array, [.int32s([1])])
        assertFormatError(try write([], metadata: metadata), mentions: ["test.nested", "arrays of arrays"])
        metadata = GGUFMetadata()
        metadata["test.mixed"] = .array(elementType: .int32, [.int32(1), .uint32(2)])
        assertFormatError(try write([], metadata: metadata), mentions: ["test.mixed", "element 1 is uint32"])
        metadata = GGUFMetadata()
        metadata["bad..key"] = .bool(true)
        assertFormatError(try write([], metadata: metadata), mentions: ["'bad..key'"])
    }

    func testFailedWriteLeavesNoFile() throws {
        let folder = try temporaryFolder(self)
        let url = folder.appendingPathComponent("broken.gguf")
        let failing = GGUFTensor(name: "late", dimensions: [2]) {
            throw FormatError(file: "source", "the values cannot be read")
        }
        assertFormatError(
            try GGUFWriter(metadata: GGUFMetadata(), tensors: [failing]).write(to: url), mentions: ["cannot be read"])
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: folder.path), [], "no partial or temporary file is left"
        )
    }

    func testMetadataKeepsOrderAndReplacesInPlace() {
        var metadata = GGUFMetadata()
        metadata["b"] = .uint32(1)
        metadata["a"] = .uint32(2)
        metadata["b"] = .uint32(3)
        XCTAssertEqual(metadata.keys, ["b", "a"])
        XCTAssertEqual(metadata["b"], .uint32(3))
        metadata["b"] = nil
        XCTAssertEqual(metadata.keys, ["a"])
        XCTAssertEqual(metadata["a"]?.integerValue, 2)
    }

    func testSHA256MatchesKnownDigests() {
        // FIPS 180-4 examples, used by the GGUF export fixtures to pin files.
        XCTAssertEqual(
            SHA256.hexDigest(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hexDigest(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256.hexDigest(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "two blocks")
    }

    // MARK: Live cross-check

    /// gguf-py, llama.cpp's reference reader, reads what the writer wrote: metadata types and
    /// values, tensor shapes, types and data.
    func testGGUFPyReadsTheWrittenFile() throws {
        let python = try PythonRunner.require(["gguf", "numpy"])
        let folder = try temporaryFolder(self)
        let url = folder.appendingPathComponent("check.gguf")
        try GGUFWriter(
            metadata: Self.everyType,
            tensors: [
                GGUFTensor(name: "matrix", dimensions: [5, 3]) { (0..<15).map { Float($0) * 0.5 } },
                GGUFTensor(name: "half", dimensions: [3], type: .f16) { [1, -2, 0.5] },
            ]
        ).write(to: url)
        let (status, output) = try PythonRunner.run(
            python,
            [
                "-c",
                """
                import sys, numpy as np
                from gguf import GGUFReader, GGUFValueType
                reader = GGUFReader(sys.argv[1])
                fields = {name: field for name, field in reader.fields.items() if not name.startswith("GGUF.")}
                assert list(fields) == \(Self.everyType.keys), list(fields)
                assert fields["test.u32"].types == [GGUFValueType.UINT32] and fields["test.u32"].contents() == 4000000000
                assert fields["test.f64"].contents() == -1.25e300
                assert fields["test.true"].contents() is True and fields["test.false"].contents() is False
                assert fields["test.string"].contents() == "ünïcode ▁ and \\"quotes\\"\\n"
                assert fields["test.strings"].contents() == ["a", "Ġb c", "<|im_end|>", ""]
                assert fields["test.ints"].types == [GGUFValueType.ARRAY, GGUFValueType.INT32] and fields["test.ints"].contents() == [1, -2, 3]
                assert fields["test.empty_array"].contents() == []
                matrix, half = reader.tensors
                assert matrix.name == "matrix" and list(matrix.shape) == [5, 3] and matrix.tensor_type.name == "F32"
                assert np.array_equal(np.asarray(matrix.data).reshape(3, 5), (np.arange(15, dtype=np.float32) * 0.5).reshape(3, 5))
                assert half.tensor_type.name == "F16" and np.asarray(half.data).tolist() == [1, -2, 0.5]
                print("ok")
                """, url.path,
            ])
        XCTAssertEqual(status, 0, output)
    }
}

extension RawGGUF {
    /// `file` with its first bytes replaced by `prefix`.
    init(bytesReplacingPrefix prefix: [UInt8], of file: RawGGUF) {
        self.init()
        append(Data(prefix) + file.bytes.dropFirst(prefix.count))
    }

    /// Appends raw bytes.
    mutating func append(_ data: Data) { bytes.append(data) }
}
