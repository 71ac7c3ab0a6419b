import Formats
import Foundation

/// What a pipeline run has done so far (`pipeline.json` in its folder): the stages finished
/// and the wall seconds each took (summed over interrupted attempts), so `--resume` skips
/// the finished ones and the report can quote every stage's time.
struct PipelineState: Codable, Equatable {
    var completed: [String] = []
    var seconds: [String: Double] = [:]

    static func load(from url: URL) throws -> PipelineState {
        guard let data = FileManager.default.contents(atPath: url.path) else { return PipelineState() }
        do {
            return try JSONDecoder().decode(PipelineState.self, from: data)
        } catch {
            throw FormatError(file: url.path, "is not a pipeline state (\(error)); delete it to run every stage again")
        }
    }

    func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(encoder.encode(self), to: url)
    }
}
