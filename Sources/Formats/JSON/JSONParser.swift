import Foundation

extension JSONValue {
    /// Parses a complete JSON document (RFC 8259, plus Python's `NaN`, `Infinity` and `-Infinity`,
    /// which `json.dumps` writes). Duplicate keys in an object are an error: the JSON spec leaves
    /// them undefined and parsers disagree on which value wins. Errors name `file` and the line and
    /// column of the problem.
    public static func parse(_ data: Data, file: String) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw FormatError(file: file, "is not valid UTF-8 text")
            }
            var parser = JSONParser(bytes: bytes, file: file)
            return try parser.parseDocument()
        }
    }

    /// Reads and parses the JSON file at `url`.
    public static func read(contentsOf url: URL) throws -> JSONValue {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw FormatError(file: url.displayName, "cannot be read: \(error.localizedDescription)")
        }
        return try parse(data, file: url.displayName)
    }
}

/// A recursive-descent JSON parser over UTF-8 bytes (already validated as UTF-8).
private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let file: String
    var position = 0
    var depth = 0

    /// Nesting deeper than this is rejected instead of risking a stack overflow.
    static let maximumDepth = 512

    init(bytes: UnsafeBufferPointer<UInt8>, file: String) {
        self.bytes = bytes
        self.file = file
    }

    mutating func parseDocument() throws -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard position == bytes.count else { throw failure("unexpected text after the JSON value") }
        return value
    }

    // MARK: Values

    mutating func parseValue() throws -> JSONValue {
        guard position < bytes.count else { throw failure("unexpected end of text, expected a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectWord("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectWord("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectWord("null")
            return .null
        case UInt8(ascii: "N"):
            try expectWord("NaN")
            return .double(.nan)
        case UInt8(ascii: "I"):
            try expectWord("Infinity")
            return .double(.infinity)
        case UInt8(ascii: "-") where peek(1) == UInt8(ascii: "I"):
            position += 1
            try expectWord("Infinity")
            return .double(-.infinity)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character \(describe(bytes[position])), expected a value")
        }
    }

    mutating func parseObject() throws -> JSONValue {
        try enterContainer()
        defer { depth -= 1 }
        position += 1
        var object = JSONObject()
        skipWhitespace()
        if consume(UInt8(ascii: "}")) { return .object(object) }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw failure("expected a string key")
            }
            let keyStart = position
            let key = try parseString()
            if object.contains(key) {
                position = keyStart
                throw failure("duplicate key \"\(key)\" (each key may appear once per object)")
            }
            skipWhitespace()
            guard consume(UInt8(ascii: ":")) else { throw failure("expected ':' after key \"\(key)\"") }
            skipWhitespace()
            object[key] = try parseValue()
            skipWhitespace()
            if consume(UInt8(ascii: ",")) { continue }
            if consume(UInt8(ascii: "}")) { return .object(object) }
            throw failure("expected ',' or '}' in an object")
        }
    }

    mutating func parseArray() throws -> JSONValue {
        try enterContainer()
        defer { depth -= 1 }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if consume(UInt8(ascii: "]")) { return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            if consume(UInt8(ascii: ",")) { continue }
            if consume(UInt8(ascii: "]")) { return .array(elements) }
            throw failure("expected ',' or ']' in an array")
        }
    }

    mutating func parseNumber() throws -> JSONValue {
        let start = position
        var isInteger = true
        _ = consume(UInt8(ascii: "-"))
        if consume(UInt8(ascii: "0")) {
            // A leading zero stands alone.
        } else if try digits() == 0 {
            throw failure("expected digits in a number")
        }
        if consume(UInt8(ascii: ".")) {
            isInteger = false
            guard try digits() > 0 else { throw failure("expected digits after '.' in a number") }
        }
        if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
            isInteger = false
            if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
            guard try digits() > 0 else { throw failure("expected digits in a number's exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if isInteger, let value = Int(text) { return .int(value) }
        guard let value = Double(text) else { throw failure("invalid number \(text)") }
        return .double(value)
    }

    /// Consumes a run of ASCII digits and returns how many there were.
    mutating func digits() throws -> Int {
        let start = position
        while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
            position += 1
        }
        return position - start
    }

    mutating func parseString() throws -> String {
        position += 1  // opening quote
        let start = position
        // Fast path: no escapes, so the bytes are the string.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw failure("control character \(describe(byte)) inside a string (escape it)") }
            position += 1
        }
        var buffer = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: buffer, as: UTF8.self)
            case UInt8(ascii: "\\"):
                position += 1
                try parseEscape(into: &buffer)
            case 0..<0x20:
                throw failure("control character \(describe(byte)) inside a string (escape it)")
            default:
                buffer.append(byte)
                position += 1
            }
        }
        throw failure("unterminated string")
    }

    mutating func parseEscape(into buffer: inout [UInt8]) throws {
        guard position < bytes.count else { throw failure("unterminated escape sequence") }
        let byte = bytes[position]
        position += 1
        if let replacement = Self.simpleEscape(byte) {
            buffer.append(replacement)
            return
        }
        guard byte == UInt8(ascii: "u") else { throw failure("invalid escape \\\(describe(byte))") }
        var code = try hexQuad()
        if (0xD800..<0xDC00).contains(code) {
            guard consume(UInt8(ascii: "\\")), consume(UInt8(ascii: "u")) else {
                throw failure("lone surrogate \\u\(String(code, radix: 16)) (a high surrogate needs a low one)")
            }
            let low = try hexQuad()
            guard (0xDC00..<0xE000).contains(low) else {
                throw failure("surrogate pair \\u\(String(code, radix: 16))\\u\(String(low, radix: 16)) is invalid")
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(code) {
            throw failure("lone surrogate \\u\(String(code, radix: 16))")
        }
        // Surrogates were handled above, so `code` is a valid scalar.
        UTF8.encode(Unicode.Scalar(code)!) { buffer.append($0) }
    }

    /// The byte a one-character escape such as `\n` stands for.
    static func simpleEscape(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return byte
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
        default: return nil
        }
    }

    mutating func hexQuad() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw failure("incomplete \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = hexValue(bytes[position]) else { throw failure("invalid hex digit in \\u escape") }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    // MARK: Scanning helpers

    mutating func enterContainer() throws {
        depth += 1
        if depth > Self.maximumDepth { throw failure("nesting deeper than \(Self.maximumDepth) levels") }
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    func peek(_ offset: Int) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    mutating func expectWord(_ word: String) throws {
        for expected in word.utf8 {
            guard consume(expected) else { throw failure("invalid literal, expected \(word)") }
        }
    }

    func describe(_ byte: UInt8) -> String {
        (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : String(format: "0x%02X", byte)
    }

    /// An error at the current position, with a 1-based line and column.
    func failure(_ message: String) -> FormatError {
        var line = 1
        var lineStart = 0
        for index in 0..<min(position, bytes.count) where bytes[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        return FormatError(file: file, "invalid JSON at line \(line), column \(position - lineStart + 1): \(message)")
    }
}
