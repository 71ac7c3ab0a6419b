import Foundation

/// How gputrain reads every line-based file (JSONL data, probes, evaluation questions): the
/// bytes must be UTF-8 (an invalid sequence is an error naming the file, the line and the byte,
/// never a silent replacement), and a line ends at LF or CRLF (files saved on Windows read the
/// same).
public enum TextLines {
    /// One line, numbered from 1, without its line end.
    public struct Line: Sendable {
        public let number: Int
        public let text: String

        /// Whether the line holds only whitespace (the JSONL readers skip such lines).
        public var isBlank: Bool { text.allSatisfy(\.isWhitespace) }
    }

    /// The lines of the file at `url`; a missing or unreadable file is an error naming it.
    public static func read(_ url: URL) throws -> [Line] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FormatError(file: url.path, "cannot be read (missing or not a file)")
        }
        return try lines(of: data, file: url.path)
    }

    /// The lines of `data`, read from `file`.
    public static func lines(of data: Data, file: String) throws -> [Line] {
        var lines: [Line] = []
        var start = data.startIndex
        var number = 1
        while start <= data.endIndex {
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            var bytes = data[start..<end]
            if bytes.last == 0x0D { bytes = bytes.dropLast() }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw FormatError(
                    file: file,
                    "line \(number): not valid UTF-8 (at byte \(firstInvalidByte(bytes) + 1) of the line); "
                        + "save the file as UTF-8")
            }
            if end == data.endIndex, text.isEmpty, number > 1 { break }
            lines.append(Line(number: number, text: text))
            number += 1
            start = end + 1
            if end == data.endIndex { break }
        }
        return lines
    }

    /// The offset of the first byte of `bytes` that does not begin a valid UTF-8 sequence.
    static func firstInvalidByte(_ bytes: Data) -> Int {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput, .error: return offset
            }
        }
    }

    /// The whole of `data` as text, checked as UTF-8 (for files read as one document).
    public static func text(of data: Data, file: String) throws -> String {
        guard let text = String(validating: data, as: UTF8.self) else {
            throw FormatError(file: file, "is not valid UTF-8; save the file as UTF-8")
        }
        return text
    }
}
