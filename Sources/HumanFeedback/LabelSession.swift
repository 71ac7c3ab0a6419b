import Core
import Datasets
import Formats
import Foundation

/// What a labelling session is made of: the command's files and choices.
public struct LabelSetup {
    /// The prompts file (JSONL).
    public var prompts: URL
    /// The preference lines written.
    public var out: URL
    /// The session file; `nil`: `<out>.session.jsonl`.
    public var session: URL?
    /// Who decides (written in each record).
    public var annotator: String
    /// How answers are sampled; `nil` without `--model`, when every line must give its answers.
    public var sampling: SamplingSettings?
    /// Opens the device the model runs on, when answers are first sampled.
    public var openDevice: () throws -> Device

    public init(
        prompts: URL, out: URL, session: URL? = nil, annotator: String, sampling: SamplingSettings? = nil,
        openDevice: @escaping () throws -> Device
    ) {
        self.prompts = prompts
        self.out = out
        self.session = session
        self.annotator = annotator
        self.sampling = sampling
        self.openDevice = openDevice
    }
}

/// A person ranking answers to prompts, one prompt after another, in file order: the one object
/// both front ends (the terminal and the web page) go through. It reads and checks everything
/// when it opens, writing nothing; each decision (a ranking or a skip) is appended to the
/// session file and flushed, then the output is regenerated from the session, atomically; undo
/// removes the last decision. A session resumes at the first undecided prompt.
///
/// Not thread-safe: a front end calls it from one thread at a time (the web server through a
/// serial queue). Only `whenNotWriting` may be called from another thread.
public final class LabelSession {
    public let prompts: [RankingPrompt]
    public let promptsURL: URL
    public let outURL: URL
    public let sessionFile: SessionFile
    public let annotator: String
    public private(set) var records: [LabelRecord]
    private let sampler: AnswerSampler?
    /// The session file must be rewritten before the next append (it ended in a partial line).
    private var sessionNeedsRewrite: Bool
    /// The answers of the prompt to decide, once sampled (or taken back from an undone record).
    private var currentAnswers: (index: Int, answers: [String])?
    /// Held while a decision is being written, so a signal never ends the process between the
    /// session file and the output.
    private let writing = NSLock()

    /// Opens a session: reads the prompts and the session file, and checks that they belong
    /// together; an error names the file, the line and the fix. Writes nothing.
    public init(_ setup: LabelSetup) throws {
        promptsURL = setup.prompts
        outURL = setup.out
        let sessionURL = setup.session ?? URL(fileURLWithPath: setup.out.path + ".session.jsonl")
        sessionFile = SessionFile(url: sessionURL)
        annotator = setup.annotator
        let paths = [setup.prompts, setup.out, sessionURL].map(\.standardizedFileURL.path)
        guard Set(paths).count == 3 else {
            throw LabelError(
                "--prompts, --out and --session must be three different files; they are "
                    + paths.joined(separator: ", "))
        }
        prompts = try RankingPromptDataset.read(setup.prompts)
        try Self.checkAnswersPresent(prompts, file: setup.prompts.path, sampling: setup.sampling)
        let toSample = prompts.filter { $0.answers == nil }
        if let settings = setup.sampling, !toSample.isEmpty {
            let sampler = try AnswerSampler(settings: settings, openDevice: setup.openDevice)
            for prompt in toSample { try sampler.check(prompt, file: setup.prompts.path) }
            self.sampler = sampler
        } else {
            sampler = nil
        }
        (records, sessionNeedsRewrite) = try sessionFile.read()
        try checkRecords(sampling: setup.sampling)
        if records.isEmpty, let existing = FileManager.default.contents(atPath: setup.out.path), !existing.isEmpty {
            throw LabelError(
                "\(setup.out.path) exists, but its session \(sessionURL.path) holds no decisions; label writes --out "
                    + "from the session, so it would replace that file: choose another --out, or remove it")
        }
    }

    /// Without a model every line must give its answers: the error names the first that does not.
    private static func checkAnswersPresent(_ prompts: [RankingPrompt], file: String, sampling: SamplingSettings?)
        throws
    {
        guard sampling == nil, let missing = prompts.first(where: { $0.answers == nil }) else { return }
        if let given = prompts.first(where: { $0.answers != nil }) {
            throw LabelError(
                "\(file):\(missing.line): no \"answers\", while line \(given.line) has them; without --model every "
                    + "line needs its \"answers\": add them, or give --model DIR to sample the missing ones")
        }
        throw LabelError(
            "\(file): no line has \"answers\"; give --model DIR to sample --n answers per prompt, or write "
                + "\"answers\": [\"...\", \"...\"] on every line")
    }

    /// Throws unless each record is for the prompt at its position, as this run would show it:
    /// the same prompt, and the same given answers or the same sampling settings.
    private func checkRecords(sampling: SamplingSettings?) throws {
        let session = sessionFile.url.path
        let fix =
            "run with the prompts file and options this session was made with, or give another --session and --out "
            + "to start afresh"
        guard records.count <= prompts.count else {
            throw LabelError(
                "\(session) holds \(records.count) decisions, but \(promptsURL.path) has only \(prompts.count) "
                    + "prompts; \(fix)")
        }
        for (position, record) in records.enumerated() {
            let prompt = prompts[position]
            let at = "\(session): decision \(position + 1)"
            guard record.index == position else {
                throw LabelError("\(at) is for prompt \(record.index), but decisions are in prompt order; \(fix)")
            }
            guard record.prompt == prompt.prompt else {
                throw LabelError(
                    "\(at) has the prompt \(Self.excerpt(record.prompt)), but \(promptsURL.path):\(prompt.line) has "
                        + "\(Self.excerpt(prompt.prompt)); \(fix)")
            }
            if let given = prompt.answers {
                guard record.sampling == nil, record.answers == given else {
                    throw LabelError(
                        "\(at) ranked other answers than \(promptsURL.path):\(prompt.line) gives; \(fix)")
                }
            } else if record.sampling != sampling, let recorded = record.sampling, let sampling {
                throw LabelError(
                    "\(at) ranked answers sampled with \(recorded.differences(from: sampling).joined(separator: ", ")), "
                        + "but this run asks for \(sampling.differences(from: recorded).joined(separator: ", ")); \(fix)"
                )
            } else if record.sampling != sampling {
                throw LabelError("\(at) ranked answers given by the prompts file, but this run samples them; \(fix)")
            }
        }
    }

    private static func excerpt(_ value: JSONValue) -> String {
        let text = value.serialized()
        return text.count <= 60 ? text : String(text.prefix(57)) + "..."
    }

    /// Whether every prompt is decided.
    public var isFinished: Bool { records.count == prompts.count }

    /// The prompt to decide, with its answers (sampled now when needed), and the progress.
    public func state() throws -> LabelState {
        let ranked = records.filter { !$0.skipped }.count
        var state = LabelState(
            index: nil, prompt: nil, system: nil, answers: [], total: prompts.count, ranked: ranked,
            skipped: records.count - ranked, pairs: records.map { PreferenceLines.lines(of: $0).count }.reduce(0, +))
        guard records.count < prompts.count else { return state }
        let index = records.count
        state.index = index
        state.prompt = prompts[index]
        state.answers = try answers(index)
        if prompts[index].answers == nil { state.system = sampler?.settings.system }
        return state
    }

    private func answers(_ index: Int) throws -> [String] {
        if let current = currentAnswers, current.index == index { return current.answers }
        let prompt = prompts[index]
        let answers: [String]
        if let given = prompt.answers {
            answers = given
        } else if let sampler {
            answers = try sampler.answers(to: prompt, index: index)
        } else {
            throw LabelError("\(promptsURL.path):\(prompt.line): no \"answers\" and no --model to sample them")
        }
        currentAnswers = (index, answers)
        return answers
    }

    /// Records `ranking` for the prompt to decide. `index`, when given, must be that prompt's
    /// (a page showing an older prompt is refused rather than ranking the wrong one).
    public func rank(_ ranking: Ranking, index: Int? = nil) throws {
        try decide(ranking, index: index)
    }

    /// Skips the prompt to decide (it gives no pairs).
    public func skip(index: Int? = nil) throws {
        try decide(nil, index: index)
    }

    private func decide(_ ranking: Ranking?, index: Int?) throws {
        guard records.count < prompts.count else { throw LabelError("every prompt is decided") }
        let current = records.count
        if let index, index != current {
            throw LabelError("prompt \(index + 1) is not the one to decide (prompt \(current + 1) is); reload")
        }
        let answers = try answers(current)
        if let ranking {
            guard ranking.groups.joined().count == answers.count else {
                throw LabelError(
                    "the ranking has \(ranking.groups.joined().count) answers; prompt \(current + 1) has "
                        + "\(answers.count)")
            }
        }
        let prompt = prompts[current]
        let record = LabelRecord(
            index: current, prompt: prompt.prompt, answers: answers, ranking: ranking, annotator: annotator,
            time: Self.now(), sampling: prompt.answers == nil ? sampler?.settings : nil)
        try writing.withLock {
            if sessionNeedsRewrite {
                try sessionFile.rewrite(records)
                sessionNeedsRewrite = false
            }
            try sessionFile.append(record)
            records.append(record)
            currentAnswers = nil
            try writeOutput()
        }
    }

    /// Takes back the last decision; its prompt is the one to decide again, with the same answers.
    /// Returns false when nothing is decided.
    @discardableResult
    public func undo() throws -> Bool {
        guard let last = records.last else { return false }
        try writing.withLock {
            try sessionFile.rewrite(Array(records.dropLast()))
            sessionNeedsRewrite = false
            records.removeLast()
            currentAnswers = (last.index, last.answers)
            try writeOutput()
        }
        return true
    }

    /// Rewrites the output from the session when it differs (a process killed between the two
    /// writes of a decision leaves it one decision behind). Nothing is written for an empty session.
    public func refreshOutput() throws {
        guard !records.isEmpty else { return }
        try writing.withLock {
            if FileManager.default.contents(atPath: outURL.path) != PreferenceLines.data(records) {
                try writeOutput()
            }
        }
    }

    private func writeOutput() throws {
        try AtomicFile.write(PreferenceLines.data(records), to: outURL)
    }

    /// Runs `body` (from any thread) once no decision is being written: a signal handler ends
    /// the process in it, so the session file and the output agree.
    public func whenNotWriting(_ body: () -> Void) {
        writing.withLock(body)
    }

    private static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
