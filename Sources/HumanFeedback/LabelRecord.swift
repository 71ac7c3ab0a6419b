import Formats
import Foundation

/// One decided prompt: a line of the session file, which is the source of truth of a labelling
/// session (the preference lines are regenerated from it). A record holds everything needed to
/// rewrite its pairs: the prompt as given, the answers shown, and the ranking or the skip.
public struct LabelRecord: Equatable, Sendable {
    /// The prompt's position in the prompts file (0-based, blank lines not counted).
    public var index: Int
    /// The prompt as the prompts file writes it.
    public var prompt: JSONValue
    /// The answers that were ranked, in the order shown.
    public var answers: [String]
    /// The ranking; `nil` when the prompt was skipped.
    public var ranking: Ranking?
    /// Who decided.
    public var annotator: String
    /// When, ISO 8601 in UTC.
    public var time: String
    /// How the answers were sampled; `nil` when the prompts file gave them.
    public var sampling: SamplingSettings?

    public init(
        index: Int, prompt: JSONValue, answers: [String], ranking: Ranking?, annotator: String, time: String,
        sampling: SamplingSettings?
    ) {
        self.index = index
        self.prompt = prompt
        self.answers = answers
        self.ranking = ranking
        self.annotator = annotator
        self.time = time
        self.sampling = sampling
    }

    public var skipped: Bool { ranking == nil }

    /// The record as one compact JSON line, without its newline.
    public var line: String {
        let ranking: JSONValue = ranking.map { .array($0.groups.map { .array($0.map { .int($0) }) }) } ?? .null
        return JSONValue.object(
            JSONObject([
                ("index", .int(index)), ("prompt", prompt), ("answers", .array(answers.map { .string($0) })),
                ("ranking", ranking), ("skipped", .bool(skipped)), ("annotator", .string(annotator)),
                ("time", .string(time)), ("sampling", sampling?.json ?? .null),
            ])
        ).serialized()
    }

    /// Reads line `number` of the session file `file`; a malformed record is an error naming them.
    public init(line text: String, number: Int, file: String) throws {
        func fail(_ message: String) -> LabelError {
            LabelError(
                "\(file):\(number): \(message); the session file is damaged: restore it, or remove it (and the "
                    + "--out file) to start afresh")
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(Data(text.utf8), file: file)
        } catch let error as FormatError {
            throw fail("not valid JSON (\(error.message))")
        }
        guard let object = value.objectValue else { throw fail("not a JSON object") }
        guard let index = object["index"]?.intValue, index >= 0 else { throw fail("no \"index\" (a prompt number)") }
        guard let prompt = object["prompt"], !prompt.isNull else { throw fail("no \"prompt\"") }
        guard let answers = object["answers"]?.arrayValue?.compactMap(\.stringValue),
            answers.count == object["answers"]?.arrayValue?.count, answers.count >= 2
        else { throw fail("\"answers\" is not a list of at least 2 strings") }
        guard let skipped = object["skipped"]?.boolValue else { throw fail("no \"skipped\" (true or false)") }
        var ranking: Ranking?
        if !skipped {
            guard let groups = object["ranking"]?.arrayValue?.map({ $0.arrayValue?.compactMap(\.intValue) ?? [] })
            else { throw fail("not skipped, but no \"ranking\" (a list of lists of answer indices)") }
            do {
                ranking = try Ranking(groups: groups, answerCount: answers.count)
            } catch let error as LabelError {
                throw fail("the ranking \(object["ranking"]!.serialized()) is not valid (\(error.message))")
            }
        }
        var sampling: SamplingSettings?
        if let settings = object["sampling"], !settings.isNull {
            guard let read = SamplingSettings(json: settings) else { throw fail("\"sampling\" is malformed") }
            sampling = read
        }
        self.init(
            index: index, prompt: prompt, answers: answers, ranking: ranking,
            annotator: object["annotator"]?.stringValue ?? "", time: object["time"]?.stringValue ?? "",
            sampling: sampling)
    }
}
