import Core
import Formats
import Foundation
import Models
import Tensors
import TestSupport
import XCTest

/// Loading a model reads the mapped checkpoint tensor by tensor, converting each to float32 on its
/// way to the device: host memory never holds a second full copy of the weights.
final class ModelFolderMemoryTests: XCTestCase {
    func testLoadingHoldsOneCopyOfTheWeights() throws {
        #if os(Linux)
            guard (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil else {
                throw XCTSkip("cannot reset the peak resident size (/proc/self/clear_refs)")
            }
            // ~14M parameters (58 MB as float32), stored as BF16 (29 MB); the largest tensor is 4 MB.
            let config = ModelConfig(
                modelType: .llama, vocabSize: 4096, hiddenSize: 256, layerCount: 12, headCount: 4,
                intermediateSize: 1024, maxPositions: 64, tieWordEmbeddings: false)
            let specs = ModelParameters.specs(for: config)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "memory-\(getpid())-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
            try config.write(to: folder.appendingPathComponent("config.json"))
            try SafetensorsWriter.write(
                specs.map {
                    SafetensorsTensor(name: $0.name, dtype: .bf16, shape: $0.shape, bytes: Data(count: 2 * $0.count))
                },
                to: folder.appendingPathComponent(SafetensorsCheckpoint.singleFileName))
            let floatBytes = 4 * specs.reduce(0) { $0 + $1.count }

            let device = TestDevices.reference()
            try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
            let before = try Self.status("VmRSS")
            let loaded = try ModelFolder.load(folder, device: device, trainable: false)
            let growth = try Self.status("VmHWM") - before
            XCTAssertEqual(loaded.report.unusedKeys, [])
            // The device copy (1×, host memory on the reference device) plus the mapped BF16 file (0.5×)
            // plus one tensor in flight; a loader that converted everything first would need 2.5×.
            XCTAssertLessThan(
                growth, floatBytes * 7 / 4, "peak grew by \(ByteCount(growth)) for \(ByteCount(floatBytes)) of weights")
            XCTAssertGreaterThan(growth, floatBytes * 9 / 10, "the weights themselves are resident")
        #else
            throw XCTSkip("reads /proc/self/status")
        #endif
    }

    /// A `/proc/self/status` field in bytes.
    private static func status(_ field: String) throws -> Int {
        let text = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix(field + ":") })
        return try XCTUnwrap(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])) * 1024
    }
}
