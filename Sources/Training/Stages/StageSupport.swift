import Datasets
import Formats
import Foundation

extension RunDirectory {
    /// Keeps the resolved `config` as `config.yaml` in the run folder.
    public func writeConfig<T: Configuration>(_ config: T) throws {
        try AtomicFile.write(Data(ConfigLoader.yaml(of: config).utf8), to: url.appendingPathComponent("config.yaml"))
    }
}

extension InitSettings {
    /// The folder `init_from` names; an empty setting is an error saying what to give.
    func folder(stage: String) throws -> URL {
        guard !initFrom.isEmpty else {
            throw ConfigError(
                source: "config", line: nil,
                message: "'model.init_from' is empty; \(stage) starts from a model folder "
                    + "(e.g. a pretraining run's final/): set it in the config or with --set model.init_from=DIR")
        }
        return URL(fileURLWithPath: initFrom)
    }
}

extension ChatLengthReport {
    /// One line for the run's output: what the length limits kept, cut and dropped.
    func summary(of what: String, limits: ChatLengthLimits) -> String {
        var line = "\(what): kept \(kept) of \(seen)"
        if promptsTruncated > 0 {
            line += ", \(promptsTruncated) with the prompt cut from the left to \(limits.maxPromptLength ?? 0) tokens"
        }
        if dropped > 0 { line += ", dropped \(dropped) longer than max_length \(limits.maxLength ?? 0)" }
        return line
    }
}
