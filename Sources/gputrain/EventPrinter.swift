import Formats
import Foundation
import Training

/// Renders training events for people (standard error, one line per event) or as JSON lines
/// (standard output) with `--json`.
struct EventPrinter {
    var json: Bool

    func callAsFunction(_ event: TrainingEvent) {
        if json {
            printJSON(event)
        } else {
            FileHandle.standardError.write(Data((text(event) + "\n").utf8))
        }
    }

    private func text(_ event: TrainingEvent) -> String {
        switch event {
        case .started(let directory, let device, let parameters, let bytes, let resumed):
            return "run \(directory) on \(device): \(parameters) trainable parameters, "
                + "\(bytes / 1_048_576) MiB on the device" + (resumed.map { ", resuming at step \($0)" } ?? "")
        case .step(let m):
            var line = String(
                format: "step %d/%d  loss %.4f  lr %.2e  grad %.3f  %.0f tok/s  ETA %@",
                m.step, m.totalSteps, m.loss, m.learningRate, m.gradientNorm, m.tokensPerSecond,
                Self.duration(m.secondsRemaining))
            if let validation = m.validationLoss { line += String(format: "  val %.4f", validation) }
            for (key, value) in m.extra.sorted(by: { $0.key < $1.key }) {
                line += String(format: "  %@ %.4g", key, value)
            }
            return line
        case .checkpoint(let step, let path):
            return "checkpoint at step \(step): \(path)"
        case .note(let message):
            return message
        case .finished(let step, let finalModel):
            return "finished at step \(step); model in \(finalModel)"
        }
    }

    private func printJSON(_ event: TrainingEvent) {
        var object: JSONObject
        switch event {
        case .started(let directory, let device, let parameters, let bytes, let resumed):
            object = [
                "event": .string("started"), "run": .string(directory), "device": .string(device),
                "parameters": .int(parameters), "device_bytes": .int(bytes),
                "resumed_at_step": resumed.map { .int($0) } ?? .null,
            ]
        case .step(let m):
            // The metrics' own encoding (the same keys as metrics.jsonl), with the event's name added.
            let encoded = (try? JSONEncoder().encode(m)).flatMap { try? JSONValue.parse($0, file: "step metrics") }
            object = encoded?.objectValue ?? [:]
            object["event"] = .string("step")
        case .checkpoint(let step, let path):
            object = ["event": .string("checkpoint"), "step": .int(step), "path": .string(path)]
        case .note(let message):
            object = ["event": .string("note"), "message": .string(message)]
        case .finished(let step, let finalModel):
            object = ["event": .string("finished"), "step": .int(step), "final_model": .string(finalModel)]
        }
        print(JSONValue.object(object).serialized(JSONLayout(sortKeys: true)))
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
