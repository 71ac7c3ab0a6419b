/// Turns tokens into text one at a time as a model generates them, never printing half a
/// character: a character whose UTF-8 bytes span several byte-level tokens comes out once its
/// last byte has arrived.
///
/// Decoding a token alone is wrong in general (a SentencePiece decoder drops the space of the
/// first token; byte-level tokens may hold part of a character), so each step decodes a short
/// window of recent tokens twice, without and with the new ones, and returns the difference,
/// as Hugging Face's text-generation-inference does. Special tokens are skipped.
public struct StreamingDecoder {
    public let tokenizer: Tokenizer
    private var ids: [Int]
    /// Start of the window: tokens before it are never decoded again.
    private var prefixOffset: Int
    /// Tokens before this one have been returned as text.
    private var readOffset: Int
    /// Tokens of context decoded along with the first new ones (enough for any decoder rule
    /// that depends on what precedes a token).
    private static let contextWindow = 5

    /// A decoder for tokens that follow `context` (the prompt), whose own text is not returned.
    public init(tokenizer: Tokenizer, context: [Int32] = []) {
        self.tokenizer = tokenizer
        ids = context.map(Int.init)
        readOffset = ids.count
        prefixOffset = max(ids.count - Self.contextWindow, 0)
    }

    /// Adds `token` and returns the text it completes: empty while a character is unfinished
    /// (or for a skipped special token), sometimes several tokens' worth at once.
    public mutating func append(_ token: Int32) -> String {
        ids.append(Int(token))
        let (previous, current) = windowTexts()
        guard current.utf8.count > previous.utf8.count, current.unicodeScalars.last != "\u{FFFD}" else { return "" }
        prefixOffset = readOffset
        readOffset = ids.count
        return String(decoding: current.utf8.dropFirst(previous.utf8.count), as: UTF8.self)
    }

    /// The text still held back (an unfinished character comes out as U+FFFD), once no more
    /// tokens will come.
    public mutating func finish() -> String {
        let (previous, current) = windowTexts()
        prefixOffset = ids.count
        readOffset = ids.count
        return String(decoding: current.utf8.dropFirst(previous.utf8.count), as: UTF8.self)
    }

    /// The window's text up to the tokens already returned, and with every token.
    private func windowTexts() -> (previous: String, current: String) {
        (
            tokenizer.decode(Array(ids[prefixOffset..<readOffset]), skipSpecialTokens: true),
            tokenizer.decode(Array(ids[prefixOffset...]), skipSpecialTokens: true)
        )
    }
}
