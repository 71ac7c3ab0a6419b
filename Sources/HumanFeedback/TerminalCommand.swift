import Foundation

/// One line typed in `gputrain label`'s terminal front end.
public enum TerminalCommand: Equatable {
    /// The answers ranked, best first.
    case rank(Ranking)
    case skip
    case undo
    case quit
    case help

    /// Reads `line` for a prompt with `answerCount` answers: `s` skips, `u` undoes, `q` quits,
    /// `?` asks for help, anything else is a ranking (`2 1 4 3`, ties `2=1 4 3`). A line that is
    /// none of these is an error saying why.
    public init(_ line: String, answerCount: Int) throws {
        let text = line.trimmingCharacters(in: .whitespaces)
        switch text.lowercased() {
        case "": throw LabelError("type a ranking, like \(Self.example(answerCount)), or ? for help")
        case "s", "skip": self = .skip
        case "u", "undo": self = .undo
        case "q", "quit", "exit": self = .quit
        case "?", "h", "help": self = .help
        default: self = .rank(try Ranking(typed: text, answerCount: answerCount))
        }
    }

    /// A full ranking of `answerCount` answers in reverse order, as an example to type.
    public static func example(_ answerCount: Int) -> String {
        (1...max(answerCount, 1)).reversed().map(String.init).joined(separator: " ")
    }

    /// What can be typed.
    public static func help(answerCount: Int) -> String {
        """
        Rank the answers best first by their numbers, e.g. \(example(answerCount)); join tied answers with =, \
        e.g. 2=1 3. Every answer must be ranked once.
          s  skip this prompt (it gives no pairs)
          u  undo the last decision
          q  quit (every decision so far is kept; run the same command to go on)
          ?  this help
        """
    }
}
