import Formats

/// How a prompt's answers were sampled, as a session record keeps it: a session refuses to go
/// on with other settings, since the answers it has would not be the ones they give.
public struct SamplingSettings: Equatable, Sendable {
    /// The model folder, as an absolute path.
    public var model: String
    /// Answers per prompt.
    public var n: Int
    public var temperature: Float
    public var topK: Int?
    public var topP: Float
    public var repetitionPenalty: Float
    /// The seed the command was given; each prompt's seed derives from it and the prompt's index.
    public var seed: UInt64
    public var maxTokens: Int
    /// The system message put before each prompt, if any.
    public var system: String?

    public init(
        model: String, n: Int, temperature: Float, topK: Int?, topP: Float, repetitionPenalty: Float, seed: UInt64,
        maxTokens: Int, system: String?
    ) {
        self.model = model
        self.n = n
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.repetitionPenalty = repetitionPenalty
        self.seed = seed
        self.maxTokens = maxTokens
        self.system = system
    }

    /// The settings as the session file writes them.
    public var json: JSONValue {
        .object(
            JSONObject([
                ("model", .string(model)), ("n", .int(n)), ("temperature", Self.number(temperature)),
                ("top_k", topK.map { .int($0) } ?? .null), ("top_p", Self.number(topP)),
                ("repetition_penalty", Self.number(repetitionPenalty)),
                // Seeds are 64-bit unsigned: a string keeps the ones above Int64.max exact.
                ("seed", seed <= UInt64(Int.max) ? .int(Int(seed)) : .string(String(seed))),
                ("max_tokens", .int(maxTokens)), ("system", system.map { .string($0) } ?? .null),
            ]))
    }

    /// `value` as the shortest decimal that reads back as it (0.95, not 0.949999988079071).
    private static func number(_ value: Float) -> JSONValue { .double(Double("\(value)") ?? Double(value)) }

    /// Reads the settings of a session record; `nil` when a field is missing or of the wrong kind.
    public init?(json: JSONValue) {
        guard let object = json.objectValue, let model = object["model"]?.stringValue,
            let n = object["n"]?.intValue, let temperature = object["temperature"]?.doubleValue,
            let topP = object["top_p"]?.doubleValue, let penalty = object["repetition_penalty"]?.doubleValue,
            let maxTokens = object["max_tokens"]?.intValue
        else { return nil }
        let seed: UInt64
        switch object["seed"] {
        case .int(let value) where value >= 0: seed = UInt64(value)
        case .string(let text) where UInt64(text) != nil: seed = UInt64(text)!
        default: return nil
        }
        let topK: Int?
        switch object["top_k"] {
        case nil, .null?: topK = nil
        case .int(let value)?: topK = value
        default: return nil
        }
        let system: String?
        switch object["system"] {
        case nil, .null?: system = nil
        case .string(let text)?: system = text
        default: return nil
        }
        self.init(
            model: model, n: n, temperature: Float(temperature), topK: topK, topP: Float(topP),
            repetitionPenalty: Float(penalty), seed: seed, maxTokens: maxTokens, system: system)
    }

    /// Each setting by its session-file name, in words.
    private var fields: [(name: String, value: String)] {
        [
            ("model", model), ("n", String(n)), ("temperature", "\(temperature)"),
            ("top_k", topK.map(String.init) ?? "none"), ("top_p", "\(topP)"),
            ("repetition_penalty", "\(repetitionPenalty)"), ("seed", String(seed)), ("max_tokens", String(maxTokens)),
            ("system", system.map { "\"\($0)\"" } ?? "none"),
        ]
    }

    /// The settings that differ from `other`'s, in words ("max_tokens 12"), for the message that
    /// refuses a session made with other settings.
    public func differences(from other: SamplingSettings) -> [String] {
        zip(fields, other.fields).filter { $0.0.value != $0.1.value }.map { "\($0.0.name) \($0.0.value)" }
    }
}
