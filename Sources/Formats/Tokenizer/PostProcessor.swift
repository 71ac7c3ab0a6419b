/// The `post_processor` of `tokenizer.json` for single sequences (docs/formats.md §2.7): the ids it puts
/// around the encoded text when special tokens are requested (e.g. Llama 3's BOS).
struct PostProcessor {
    /// One element of the single-sequence template.
    enum Piece: Equatable {
        case ids([Int])
        case sequence
    }

    /// The template; `[.sequence]` adds nothing.
    var template: [Piece] = [.sequence]

    /// `ids` wrapped in the template's special tokens.
    func apply(to ids: [Int]) -> [Int] {
        template.flatMap { piece -> [Int] in
            switch piece {
            case .ids(let special): return special
            case .sequence: return ids
            }
        }
    }

    /// Reads the `post_processor` component (`nil` = adds nothing). `ByteLevel` only trims offsets
    /// and adds nothing; `TemplateProcessing` uses its `single` template; Roberta/Bert wrap the
    /// text in their `cls`/`sep` tokens; `Sequence` chains these.
    static func read(_ fields: JSONFields?) throws -> PostProcessor {
        guard let fields else { return PostProcessor() }
        let type = try fields.required("type", fields.string)
        switch type {
        case "ByteLevel":
            return PostProcessor()
        case "TemplateProcessing":
            return PostProcessor(template: try readTemplate(fields))
        case "RobertaProcessing", "BertProcessing":
            return PostProcessor(template: [
                .ids([try specialID(fields, "cls")]), .sequence, .ids([try specialID(fields, "sep")]),
            ])
        case "Sequence":
            var result = PostProcessor()
            for step in try fields.required("processors", fields.objects) {
                let inner = try read(step).template
                result.template = inner.flatMap { $0 == .sequence ? result.template : [$0] }
            }
            return result
        default:
            throw fields.error(
                "has post-processor type '\(type)', which gputrain does not support (supported: ByteLevel, TemplateProcessing, RobertaProcessing, BertProcessing, Sequence)"
            )
        }
    }

    /// `["<s>", 0]` → 0.
    private static func specialID(_ fields: JSONFields, _ key: String) throws -> Int {
        guard let pair = try fields.array(key), pair.count == 2, let id = pair[1].intValue else {
            throw fields.error(key, "should be [token, id]")
        }
        return id
    }

    private static func readTemplate(_ fields: JSONFields) throws -> [Piece] {
        let specials = try fields.object("special_tokens")
        return try fields.required("single", fields.objects).map { element in
            if element.contains("Sequence") { return .sequence }
            guard let special = try element.object("SpecialToken") else {
                throw element.error("should be a SpecialToken or a Sequence")
            }
            let name = try special.required("id", special.string)
            guard let entry = try specials?.object(name), let ids = try entry.array("ids"),
                let values = Optional(ids.compactMap(\.intValue)), values.count == ids.count
            else {
                throw fields.error("special_tokens", "has no ids for '\(name)', which the single template uses")
            }
            return .ids(values)
        }
    }
}
