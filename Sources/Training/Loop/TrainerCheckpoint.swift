import Formats
import Foundation
import Optimizers
import Tensors

/// A resumable training state in `checkpoints/step-N/`: the weights and AdamW moments of each
/// trainee as safetensors (by parameter name) and `state.json` with the step. A stage trains one
/// model (`model.safetensors`, `optimizer.safetensors`) or, like PPO, several
/// (`value.safetensors`, `value.optimizer.safetensors`, …). Every stage's data follows from the
/// step and the seed, so the step is all the state the data needs.
///
/// A checkpoint is written into a temporary folder and renamed into place, so a crash while
/// writing never leaves a half checkpoint that `--resume` would pick up.
public struct TrainerCheckpoint: Codable, Equatable {
    /// Optimizer steps taken.
    public var step: Int
    /// The validation loss of the latest evaluation at or before `step` (for `keep_best`).
    public var validationLoss: Double?
    /// The checksum (`Checksum`) of each file of the checkpoint, by name: a damaged file is
    /// found before anything loads.
    public var checksums: [String: String]?

    static let stateFile = "state.json"

    public init(step: Int, validationLoss: Double? = nil) {
        self.step = step
        self.validationLoss = validationLoss.flatMap { $0.isFinite ? $0 : nil }
    }

    /// Writes the checkpoint of every trainee under `checkpoints/step-N` of `runDirectory`.
    @discardableResult
    public func write(_ trainees: [Trainee], runDirectory: URL) throws -> URL {
        let checkpoints = runDirectory.appendingPathComponent("checkpoints")
        let final = checkpoints.appendingPathComponent("step-\(step)")
        let temporary = checkpoints.appendingPathComponent(".step-\(step).tmp")
        try? FileManager.default.removeItem(at: temporary)
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        for trainee in trainees { try Self.write(trainee, into: temporary) }
        var state = self
        state.checksums = try Dictionary(
            uniqueKeysWithValues: trainees.flatMap { [$0.modelFile, $0.optimizerFile] }.map {
                ($0, try Checksum.of(file: temporary.appendingPathComponent($0)))
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try AtomicFile.write(encoder.encode(state), to: temporary.appendingPathComponent(Self.stateFile))
        try? FileManager.default.removeItem(at: final)
        try FileManager.default.moveItem(at: temporary, to: final)
        return final
    }

    private static func write(_ trainee: Trainee, into folder: URL) throws {
        let (store, optimizer) = (trainee.store, trainee.optimizer)
        // Frozen parameters (LoRA's base weights) come back from the model the run started from.
        let values = try store.allValues()
        try SafetensorsWriter.write(
            store.layout.entries.filter(\.spec.trainable).map {
                SafetensorsTensor(name: $0.spec.name, shape: $0.spec.shape, floats: values[$0.spec.name]!)
            },
            to: folder.appendingPathComponent(trainee.modelFile))
        let state = try optimizer.state()
        let shapes = Dictionary(uniqueKeysWithValues: store.layout.entries.map { ($0.spec.name, $0.spec.shape) })
        try SafetensorsWriter.write(
            state.firstMoments.map { SafetensorsTensor(name: "m." + $0.key, shape: shapes[$0.key]!, floats: $0.value) }
                + state.secondMoments.map {
                    SafetensorsTensor(name: "v." + $0.key, shape: shapes[$0.key]!, floats: $0.value)
                },
            metadata: ["format": "pt", "adam_step": String(state.step)],
            to: folder.appendingPathComponent(trainee.optimizerFile))
    }

    /// The newest complete checkpoint folder of `runDirectory`, if any.
    public static func latest(in runDirectory: URL) -> URL? {
        all(in: runDirectory).last?.url
    }

    /// The complete checkpoint folders of `runDirectory` (those with their state file), oldest first.
    static func all(in runDirectory: URL) -> [(step: Int, url: URL)] {
        let checkpoints = runDirectory.appendingPathComponent("checkpoints")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("step-"), let step = Int(name.dropFirst(5)) else { return nil }
            let url = checkpoints.appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: url.appendingPathComponent(stateFile).path)
                ? (step, url) : nil
        }.sorted { $0.0 < $1.0 }
    }

    /// Removes the checkpoints of `runDirectory` other than the newest `newest` (all kept when
    /// it is 0) and, with `best`, the one whose state records the lowest validation loss.
    static func prune(in runDirectory: URL, keepingNewest newest: Int, keepingBest best: Bool) throws {
        let checkpoints = all(in: runDirectory)
        guard newest > 0, checkpoints.count > newest else { return }
        var kept = Set(checkpoints.suffix(newest).map(\.step))
        if best {
            let losses = checkpoints.compactMap { checkpoint -> (Int, Double)? in
                guard
                    let data = FileManager.default.contents(
                        atPath: checkpoint.url.appendingPathComponent(stateFile).path),
                    let state = try? JSONDecoder().decode(TrainerCheckpoint.self, from: data),
                    let loss = state.validationLoss
                else { return nil }
                return (checkpoint.step, loss)
            }
            if let lowest = losses.min(by: { $0.1 < $1.1 }) { kept.insert(lowest.0) }
        }
        for checkpoint in checkpoints where !kept.contains(checkpoint.step) {
            try FileManager.default.removeItem(at: checkpoint.url)
        }
    }

    /// Loads the newest checkpoint of `runDirectory` whose files match their checksums into every
    /// trainee, saying through `note` which damaged ones it passed over; returns its step, or
    /// nil when there is none. When every checkpoint is damaged, the newest one's error is thrown.
    public static func restoreLatest(in runDirectory: URL, _ trainees: [Trainee], note: (String) -> Void) throws
        -> Int?
    {
        var newestError: Error?
        for checkpoint in all(in: runDirectory).reversed() {
            do {
                try verify(checkpoint.url)
                return try restore(from: checkpoint.url, trainees).step
            } catch {
                note("checkpoint \(checkpoint.url.lastPathComponent) is damaged (\(error)); trying the one before")
                newestError = newestError ?? error
            }
        }
        if let newestError { throw newestError }
        return nil
    }

    /// Throws, naming the file, unless every file the state lists matches its checksum.
    static func verify(_ folder: URL) throws {
        let stateURL = folder.appendingPathComponent(stateFile)
        guard let state = try? JSONDecoder().decode(TrainerCheckpoint.self, from: Data(contentsOf: stateURL)) else {
            throw FormatError(file: stateURL.path, "is not a readable checkpoint state")
        }
        for (name, expected) in state.checksums ?? [:] {
            let url = folder.appendingPathComponent(name)
            guard (try? Checksum.of(file: url)) == expected else {
                throw FormatError(file: url.path, "does not match the checksum its checkpoint recorded")
            }
        }
    }

    /// Loads the checkpoint in `folder` into every trainee; a damaged file is an error naming it.
    public static func restore(from folder: URL, _ trainees: [Trainee]) throws -> TrainerCheckpoint {
        let stateURL = folder.appendingPathComponent(stateFile)
        let checkpoint: TrainerCheckpoint
        do {
            checkpoint = try JSONDecoder().decode(TrainerCheckpoint.self, from: Data(contentsOf: stateURL))
        } catch {
            throw FormatError(
                file: stateURL.path,
                "corrupt checkpoint state (\(error)); delete this checkpoint folder to resume from an earlier one")
        }
        for trainee in trainees { try restore(trainee, from: folder) }
        return checkpoint
    }

    private static func restore(_ trainee: Trainee, from folder: URL) throws {
        let (store, optimizer) = (trainee.store, trainee.optimizer)
        let model = try SafetensorsFile(contentsOf: folder.appendingPathComponent(trainee.modelFile))
        for entry in store.layout.entries where entry.spec.trainable {
            try store.load(entry.spec.name, values: model.floats(entry.spec.name))
        }
        let moments = try SafetensorsFile(contentsOf: folder.appendingPathComponent(trainee.optimizerFile))
        var first: [String: [Float]] = [:]
        var second: [String: [Float]] = [:]
        for entry in store.layout.entries where entry.spec.trainable {
            first[entry.spec.name] = try moments.floats("m." + entry.spec.name)
            second[entry.spec.name] = try moments.floats("v." + entry.spec.name)
        }
        guard let adamStep = moments.metadata["adam_step"].flatMap(Int.init) else {
            throw FormatError(
                file: folder.appendingPathComponent(trainee.optimizerFile).path, "has no adam_step in its metadata")
        }
        try optimizer.load(AdamWState(step: adamStep, firstMoments: first, secondMoments: second))
    }
}
