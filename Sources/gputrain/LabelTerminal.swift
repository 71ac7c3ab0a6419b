import Foundation
import HumanFeedback

/// The terminal front end of `gputrain label`: prints the prompt and its numbered answers, reads
/// one command per line (a ranking, s, u, q, ?) and hands it to the session. End of input quits.
struct LabelTerminal {
    let session: LabelSession

    func run() throws {
        while true {
            let state = try session.state()
            guard let index = state.index else { return try Self.printSummary(of: session) }
            show(state, index: index)
            while true {
                Self.write("> ")
                guard let line = readLine() else {
                    Self.write("\n")
                    return stop(at: index)
                }
                let command: TerminalCommand
                do {
                    command = try TerminalCommand(line, answerCount: state.answers.count)
                } catch {
                    Self.write("\(error)\n")
                    continue
                }
                switch command {
                case .rank(let ranking):
                    try session.rank(ranking, index: index)
                case .skip:
                    try session.skip(index: index)
                case .undo:
                    guard try session.undo() else {
                        Self.write("Nothing to undo.\n")
                        continue
                    }
                    Self.write("Undone.\n")
                case .quit:
                    return stop(at: index)
                case .help:
                    Self.write(TerminalCommand.help(answerCount: state.answers.count) + "\n")
                    continue
                }
                break
            }
        }
    }

    private func show(_ state: LabelState, index: Int) {
        var text = "\n── Prompt \(index + 1) of \(state.total) · \(state.ranked) ranked · "
        text += "\(state.skipped) skipped ──\n"
        if let system = state.system { text += "system: \(Self.visible(system))\n" }
        for message in state.prompt?.messages ?? [] {
            text += "\(message.role.rawValue): \(Self.visible(message.content))\n"
        }
        text += "\n"
        for (number, answer) in state.answers.enumerated() {
            let lines =
                answer.isEmpty
                ? ["(empty answer)"]
                : Self.visible(answer).split(separator: "\n", omittingEmptySubsequences: false)
            text += "[\(number + 1)] " + lines.joined(separator: "\n    ") + "\n"
        }
        text += "\nRank best first (e.g. \(TerminalCommand.example(state.answers.count)); ties 2=1), "
        text += "s skip, u undo, q quit, ? help\n"
        Self.write(text)
    }

    /// `text` with control characters other than newlines and tabs escaped (`\u{1B}`): a sampled
    /// answer may hold any bytes, and an escape sequence would act on the terminal instead of
    /// showing.
    static func visible(_ text: String) -> String {
        var shown = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control, scalar != "\n", scalar != "\t" {
                shown += scalar.escaped(asASCII: false)
            } else {
                shown.unicodeScalars.append(scalar)
            }
        }
        return shown
    }

    private func stop(at index: Int) {
        Self.write(
            "Stopped at prompt \(index + 1) of \(session.prompts.count) (\(session.records.count) decided); the "
                + "decisions are in \(session.sessionFile.url.path): run the same command to go on.\n")
    }

    /// Prints what a finished session wrote.
    static func printSummary(of session: LabelSession) throws {
        let state = try session.state()
        write(
            "All \(state.total) prompts decided: \(state.ranked) ranked, \(state.skipped) skipped; \(state.pairs) "
                + "preference pairs in \(session.outURL.path) (decisions in \(session.sessionFile.url.path)).\n")
    }

    /// Writes `text` to standard output at once (a prompt without a newline must show).
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
