/// A conversation rendered by a `ChatTemplate`: the text to tokenize (with
/// `addSpecialTokens: false`) and where the trained parts of the assistant turns lie in it.
public struct RenderedChat: Equatable, Sendable {
    /// The rendered text.
    public var text: String
    /// For each assistant message, in order: the UTF-8 byte range of its trained part (the content
    /// as rendered plus the end-of-turn token), recorded while rendering.
    public var assistantSpans: [Range<Int>]

    /// The text of each assistant span (for messages and tests).
    public var assistantTexts: [String] {
        let bytes = Array(text.utf8)
        return assistantSpans.map { String(decoding: bytes[$0], as: UTF8.self) }
    }
}

/// Builds a rendered chat piece by piece, counting UTF-8 bytes so spans need no searching.
struct ChatTextBuilder {
    private(set) var text = ""
    private(set) var spans: [Range<Int>] = []
    private var byteCount = 0

    /// Appends text that is not trained.
    mutating func append(_ piece: String) {
        text += piece
        byteCount += piece.utf8.count
    }

    /// Appends text that is trained (an assistant answer and its end-of-turn token) and records its span.
    mutating func appendTrained(_ piece: String) {
        let start = byteCount
        append(piece)
        spans.append(start..<byteCount)
    }

    var rendered: RenderedChat { RenderedChat(text: text, assistantSpans: spans) }
}
