import Foundation

/// The `decoder` of `tokenizer.json` (docs/formats.md §2.8–2.9): turns token strings back into text. Each
/// step maps a list of strings to a list of strings, as in HF's `decode_chain`; the results are
/// concatenated at the end.
struct TokenDecoder {
    enum Step {
        /// Byte-level alphabet back to bytes, then lossy UTF-8 (invalid sequences → U+FFFD).
        case byteLevel
        /// Every match of a pattern → literal text, in each token.
        case replace(NSRegularExpression, String)
        /// Runs of `<0xXX>` tokens → their UTF-8 text, or one U+FFFD per byte when invalid.
        case byteFallback
        /// All tokens → one.
        case fuse
        /// Remove up to `start` leading and `stop` trailing `content` characters from each token.
        case strip(content: Unicode.Scalar, start: Int, stop: Int)
        /// `replacement` → space; in the first token the replacement is dropped unless `prepend` is never.
        case metaspace(replacement: Unicode.Scalar, dropsInFirstToken: Bool)
    }

    /// `nil` when the file has no decoder: tokens are then joined with spaces, as HF does.
    var steps: [Step]?

    func decode(_ tokens: [String]) -> String {
        guard let steps else { return tokens.joined(separator: " ") }
        return steps.reduce(tokens) { Self.apply($1, to: $0) }.joined()
    }

    private static func apply(_ step: Step, to tokens: [String]) -> [String] {
        switch step {
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens { ByteLevelAlphabet.decodeBytes(token, into: &bytes) }
            return [String(decoding: bytes, as: UTF8.self)]
        case .replace(let expression, let content):
            let template = NSRegularExpression.escapedTemplate(for: content)
            return tokens.map {
                expression.stringByReplacingMatches(
                    in: $0, range: NSRange($0.startIndex..., in: $0), withTemplate: template)
            }
        case .byteFallback:
            return byteFallback(tokens)
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                let scalars = Array(token.unicodeScalars)
                let leading = scalars.prefix(start).prefix { $0 == content }.count
                let trailing = scalars.dropFirst(leading).reversed().prefix(stop).prefix { $0 == content }.count
                return String(scalars: scalars[leading..<(scalars.count - trailing)])
            }
        case .metaspace(let replacement, let dropsInFirstToken):
            return tokens.enumerated().map { index, token in
                var scalars = String.UnicodeScalarView()
                for scalar in token.unicodeScalars {
                    if scalar != replacement {
                        scalars.append(scalar)
                    } else if index > 0 || !dropsInFirstToken {
                        scalars.append(" ")
                    }
                }
                return String(scalars)
            }
        }
    }

    private static func byteFallback(_ tokens: [String]) -> [String] {
        var result: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let text = String(validating: pending, as: UTF8.self) {
                result.append(text)
            } else {
                result.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count))
            }
            pending.removeAll()
        }
        for token in tokens {
            let utf8 = Array(token.utf8)
            if utf8.count == 6, token.hasPrefix("<0x"), token.hasSuffix(">"),
                let byte = UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
            {
                pending.append(byte)
            } else {
                flush()
                result.append(token)
            }
        }
        flush()
        return result
    }

    /// Reads the `decoder` component; unsupported types are an error naming them.
    static func read(_ fields: JSONFields?) throws -> TokenDecoder {
        guard let fields else { return TokenDecoder(steps: nil) }
        var steps: [Step] = []
        try append(fields, to: &steps)
        return TokenDecoder(steps: steps)
    }

    private static func append(_ fields: JSONFields, to steps: inout [Step]) throws {
        let type = try fields.required("type", fields.string)
        switch type {
        case "Sequence":
            for step in try fields.required("decoders", fields.objects) { try append(step, to: &steps) }
        case "ByteLevel":
            steps.append(.byteLevel)
        case "Replace":
            steps.append(
                .replace(try TextPattern.read(fields).compiled(fields), try fields.required("content", fields.string)))
        case "ByteFallback":
            steps.append(.byteFallback)
        case "Fuse":
            steps.append(.fuse)
        case "Strip":
            let content = try fields.required("content", fields.string)
            guard content.unicodeScalars.count == 1 else { throw fields.error("content", "should be one character") }
            steps.append(
                .strip(
                    content: content.unicodeScalars.first!, start: try fields.count("start") ?? 0,
                    stop: try fields.count("stop") ?? 0))
        case "Metaspace":
            let replacement = try fields.string("replacement") ?? "\u{2581}"
            guard replacement.unicodeScalars.count == 1 else {
                throw fields.error("replacement", "should be one character")
            }
            let scheme =
                try fields.string("prepend_scheme")
                ?? ((try fields.bool("add_prefix_space") ?? true) ? "always" : "never")
            steps.append(
                .metaspace(replacement: replacement.unicodeScalars.first!, dropsInFirstToken: scheme != "never"))
        default:
            throw fields.error(
                "has decoder type '\(type)', which gputrain does not support (supported: ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence)"
            )
        }
    }
}
