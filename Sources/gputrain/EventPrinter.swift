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
        let object: [String: Any]
        switch event {
        case .started(let directory, let device, let parameters, let bytes, let resumed):
            object = [
                "event": "started", "run": directory, "device": device, "parameters": parameters,
                "device_bytes": bytes, "resumed_at_step": resumed.map { $0 as Any } ?? NSNull(),
            ]
        case .step(let m):
            let data = (try? JSONEncoder().encode(m)) ?? Data()
            var fields = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
            fields["event"] = "step"
            object = fields
        case .checkpoint(let step, let path):
            object = ["event": "checkpoint", "step": step, "path": path]
        case .note(let message):
            object = ["event": "note", "message": message]
        case .finished(let step, let finalModel):
            object = ["event": "finished", "step": step, "final_model": finalModel]
        }
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
