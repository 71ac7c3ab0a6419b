import ArgumentParser
import Foundation
import HumanFeedback
import Runtime

/// `gputrain label`: a person ranks N answers per prompt, in the terminal or on a local web page;
/// the rankings become preference pairs for the reward model and DPO.
struct LabelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "label",
        abstract: "Rank sampled (or given) answers to prompts; writes the preference pairs the rankings imply.",
        discussion: """
            Each line of --prompts is {"prompt": string or message list, "answers": [...] (optional)}. Without \
            answers, --model samples --n answers per prompt (seeded: the same command shows the same answers). \
            Every decision is appended to the session file (--session, default <out>.session.jsonl) at once, and \
            --out is rewritten from it: {"prompt", "chosen", "rejected"} for every pair a ranking implies. Run the \
            same command again to go on where you stopped. The terminal takes rankings typed best first \
            (2 1 4 3; ties 2=1 4 3), s skip, u undo, q quit, ? help; --web PORT serves the same on \
            http://127.0.0.1:PORT/ instead. Once every prompt is decided, a summary is printed and the command \
            ends (the web server too).
            """)

    @Option(help: "A chat model folder to sample answers with (not needed when every line gives its answers).")
    var model: String?

    @Option(help: "The prompts, JSONL: {\"prompt\": ..., \"answers\": [...] (optional)} per line.")
    var prompts: String

    @Option(help: "The preference pairs written (TRL's {\"prompt\", \"chosen\", \"rejected\"} JSONL).")
    var out: String

    @Option(help: "Answers sampled per prompt (at least 2).")
    var n: Int = 4

    @Option(help: "A system message before each prompt the model answers.")
    var system: String?

    @Option(
        help: ArgumentHelp(
            "Serve a web page on 127.0.0.1:PORT instead of the terminal (0: a free port).", valueName: "port"))
    var web: Int?

    @Option(help: "The session file, one line per decision (default: <out>.session.jsonl).")
    var session: String?

    @Option(help: "Who ranks, written in each decision (default: the login name).")
    var annotator: String?

    @OptionGroup var sampling: SamplingArguments

    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        guard n >= 2 else {
            throw ValidationError("--n is \(n); ranking needs at least 2 answers per prompt: give --n 2 or more")
        }
        if let web, !(0...65535).contains(web) {
            throw ValidationError("--web is \(web); give a port from 1 to 65535, or 0 for a free one")
        }
    }

    func run() throws {
        let options = sampling.options(defaultMaxTokens: 64, defaultTemperature: 1)
        let settings = model.map { model in
            SamplingSettings(
                model: URL(fileURLWithPath: model).absoluteURL.standardizedFileURL.path, n: n,
                temperature: options.sampling.temperature, topK: options.sampling.topK, topP: options.sampling.topP,
                repetitionPenalty: options.sampling.repetitionPenalty, seed: options.sampling.seed,
                maxTokens: options.maxNewTokens, system: system)
        }
        let session = try LabelSession(
            LabelSetup(
                prompts: URL(fileURLWithPath: prompts), out: URL(fileURLWithPath: out),
                session: self.session.map { URL(fileURLWithPath: $0) }, annotator: annotator ?? Annotator.current,
                sampling: settings, openDevice: { try deviceOptions.open() }))
        session.exitOnSignals { signal in
            let decided = session.records.count
            FileHandle.standardError.write(
                Data(
                    "\n\(signal == SIGINT ? "interrupted" : "stopped by a signal"): \(decided) of "
                        .appending("\(session.prompts.count) prompts decided, kept in ")
                        .appending("\(session.sessionFile.url.path); run the same command to go on\n").utf8))
        }
        if let web {
            if !session.isFinished {
                try LabelWebServer.serve(session, port: UInt16(web)) { url in
                    LabelTerminal.write("\(url.absoluteString)\n")
                    FileHandle.standardError.write(
                        Data("Open \(url.absoluteString) to rank; Ctrl-C stops (progress is kept).\n".utf8))
                }
            }
            try LabelTerminal.printSummary(of: session)
        } else {
            try session.refreshOutput()
            try LabelTerminal(session: session).run()
        }
    }
}
