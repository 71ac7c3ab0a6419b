import Datasets
import Foundation
import TestSupport
import XCTest

final class TokenShardTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try makeScratchFolder("shards")
    }

    func testRoundTripPicksTheNarrowestWidth() throws {
        for (tokens, width) in [([0, 7, 65_535] as [Int32], 2), ([1, 65_536, 128_255], 4)] {
            let url = directory.appendingPathComponent("s\(width).bin")
            try TokenShard.write(tokens, to: url)
            let shard = try TokenShard(contentsOf: url)
            XCTAssertEqual(shard.tokenWidth, width)
            XCTAssertEqual((0..<shard.count).map { shard[$0] }, tokens)
        }
    }

    func testDefectsAreErrorsNamingTheFile() throws {
        let url = directory.appendingPathComponent("train-00000.bin")
        XCTAssertThrowsError(try TokenShard(contentsOf: url)) { XCTAssertTrue("\($0)".contains("missing"), "\($0)") }
        try TokenShard.write(Array(0..<100), to: url)
        let data = try Data(contentsOf: url)
        try data.prefix(data.count - 3).write(to: url)
        XCTAssertThrowsError(try TokenShard(contentsOf: url)) { error in
            XCTAssertTrue("\(error)".contains("train-00000.bin"), "\(error)")
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
        try Data("not a shard at all, but long enough to hold a header".utf8).write(to: url)
        XCTAssertThrowsError(try TokenShard(contentsOf: url)) { XCTAssertTrue("\($0)".contains("bad magic"), "\($0)") }
    }

    /// A header whose count is larger than any file (or than Int) is an error naming the file and
    /// the count, never an overflow trap.
    func testAHugeHeaderCountIsAnError() throws {
        let url = directory.appendingPathComponent("train-00000.bin")
        for count in [UInt64.max, UInt64(Int.max) / 2 + 7, 1 << 40] {
            try TokenShard.write(Array(0..<100), to: url)
            var data = try Data(contentsOf: url)
            withUnsafeBytes(of: count.littleEndian) { data.replaceSubrange(16..<24, with: $0) }
            try data.write(to: url)
            XCTAssertThrowsError(try TokenShard(contentsOf: url)) { error in
                XCTAssertTrue("\(error)".contains("train-00000.bin"), "\(error)")
                XCTAssertTrue("\(error)".contains("header says \(count) tokens"), "\(error)")
            }
        }
    }

    func testSamplerIsDeterministicCoversEachWindowAndResumesExactly() throws {
        let stream = (0..<1001).map { Int32($0) }
        func sampler(_ position: BatchSampler.Position = .init()) throws -> BatchSampler {
            try BatchSampler(
                count: stream.count, token: { stream[$0] }, batchSize: 3, sequenceLength: 10, seed: 42,
                position: position)
        }
        var a = try sampler()
        var b = try sampler()
        var starts: [Int32] = []
        for _ in 0..<33 {
            let batch = a.next()
            XCTAssertEqual(batch, b.next())
            XCTAssertEqual(batch.targets, batch.inputs.map { $0 + 1 }, "targets are the next tokens")
            starts += stride(from: 0, to: batch.inputs.count, by: 10).map { batch.inputs[$0] }
        }
        XCTAssertEqual(a.windowsPerEpoch, 100)
        XCTAssertEqual(Set(starts[0..<99]).count, 99, "no window repeats within an epoch")
        let saved = a.position
        let expected = (0..<40).map { _ in a.next() }
        var resumed = try sampler(saved)
        XCTAssertEqual((0..<40).map { _ in resumed.next() }, expected, "a restored position continues identically")
    }
}
