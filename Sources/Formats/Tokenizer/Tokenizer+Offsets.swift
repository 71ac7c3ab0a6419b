extension Tokenizer {
    /// The ids of `text` (no post-processor, as for rendered chats) and, for each id, the UTF-8
    /// byte range of `text` it stands for. See `byteOffsets(of:in:)`.
    public func encodeWithOffsets(_ text: String, parseSpecialTokens: Bool = true) throws -> (
        ids: [Int], offsets: [Range<Int>]
    ) {
        let ids = encode(text, addSpecialTokens: false, parseSpecialTokens: parseSpecialTokens)
        return (ids, try byteOffsets(of: ids, in: text))
    }

    /// The UTF-8 byte range of `text` that each of `ids` decodes to, where `ids` encode `text`.
    ///
    /// Found by decoding: each step decodes the previous group of tokens with and without the new
    /// token and takes the difference (as `StreamingDecoder` does), so decoder rules that look at
    /// neighbouring tokens (SentencePiece's leading space) come out right. Tokens that hold part of
    /// a character share the range of the whole character. Throws when the decoded tokens do not
    /// give back `text` exactly (a normalizer that changed it, or an added token that swallowed
    /// whitespace): offsets would then be guesses.
    public func byteOffsets(of ids: [Int], in text: String) throws -> [Range<Int>] {
        let expected = Array(text.utf8)
        var offsets: [Range<Int>] = []
        offsets.reserveCapacity(ids.count)
        var end = 0
        var windowStart = 0  // first token of the context decoded with each step
        var groupStart = 0  // first token whose text has not come out yet
        for index in ids.indices {
            let previous = decode(Array(ids[windowStart..<groupStart]))
            let current = decode(Array(ids[windowStart...index]))
            // An unfinished character decodes as U+FFFD: wait for the tokens that complete it.
            // (A real U+FFFD in the text merely joins the next token's group.)
            if current.unicodeScalars.last == "\u{FFFD}", index + 1 < ids.count { continue }
            guard current.utf8.count >= previous.utf8.count, current.utf8.starts(with: previous.utf8) else {
                throw mismatch(at: end, in: text)
            }
            let piece = Array(current.utf8.dropFirst(previous.utf8.count))
            guard end + piece.count <= expected.count, expected[end..<(end + piece.count)].elementsEqual(piece) else {
                throw mismatch(at: end, in: text)
            }
            offsets.append(contentsOf: repeatElement(end..<(end + piece.count), count: index + 1 - groupStart))
            end += piece.count
            windowStart = groupStart
            groupStart = index + 1
        }
        guard end == expected.count else { throw mismatch(at: end, in: text) }
        return offsets
    }

    private func mismatch(at offset: Int, in text: String) -> FormatError {
        let context = String(decoding: Array(text.utf8).dropFirst(max(offset - 20, 0)).prefix(40), as: UTF8.self)
        return FormatError(
            file: "tokenizer",
            "decoding the tokens does not give back the text near byte \(offset) "
                + "(\(context.debugDescription)): a normalizer changed it or an added token absorbed whitespace, so token "
                + "offsets (and assistant loss masks) cannot be computed with this tokenizer")
    }
}
