import Foundation

/// How `JSONValue.serialized` lays out its text.
public struct JSONLayout: Sendable {
    /// Indent nested containers by this many spaces, one entry per line; `nil` = compact, no spaces
    /// at all (the form serde_json and safetensors headers use).
    public var indent: Int?
    /// Write object keys in byte order instead of their stored order (what Python's
    /// `json.dumps(sort_keys=True)` does for transformers' `config.json`).
    public var sortKeys: Bool
    /// In indented output, keep arrays that hold only scalars on one line (`[64, 64]`, `["a", "b"]`).
    public var inlineScalarArrays: Bool

    /// A layout; the defaults give compact output in stored order.
    public init(indent: Int? = nil, sortKeys: Bool = false, inlineScalarArrays: Bool = false) {
        self.indent = indent
        self.sortKeys = sortKeys
        self.inlineScalarArrays = inlineScalarArrays
    }

    /// Compact, in stored order.
    public static let compact = JSONLayout()
    /// Two-space indentation, in stored order, short arrays inline.
    public static let pretty = JSONLayout(indent: 2, inlineScalarArrays: true)
}

extension JSONValue {
    /// The JSON text of this value. Strings are written as UTF-8 with only the escapes JSON requires;
    /// non-finite doubles are written as Python does (`NaN`, `Infinity`), which Python and
    /// serde_json's lenient readers accept.
    public func serialized(_ layout: JSONLayout = .compact) -> String {
        var output = ""
        write(to: &output, layout: layout, level: 0)
        return output
    }

    /// The JSON text as UTF-8 bytes, ending with a newline when indented (like the files Python writes).
    public func serializedData(_ layout: JSONLayout = .compact) -> Data {
        var text = serialized(layout)
        if layout.indent != nil { text += "\n" }
        return Data(text.utf8)
    }

    private var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    private func write(to output: inout String, layout: JSONLayout, level: Int) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .double(let value): output += Self.text(of: value)
        case .string(let value): Self.writeString(value, to: &output)
        case .array(let elements):
            let inline = layout.indent == nil || (layout.inlineScalarArrays && elements.allSatisfy(\.isScalar))
            writeContainer(
                open: "[", close: "]", count: elements.count, inline: inline, layout: layout,
                level: level, to: &output
            ) { index, output in
                elements[index].write(to: &output, layout: layout, level: level + 1)
            }
        case .object(let object):
            var entries = object.entries
            if layout.sortKeys { entries.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } }
            writeContainer(
                open: "{", close: "}", count: entries.count, inline: layout.indent == nil,
                layout: layout, level: level, to: &output
            ) { index, output in
                Self.writeString(entries[index].key, to: &output)
                output += layout.indent == nil ? ":" : ": "
                entries[index].value.write(to: &output, layout: layout, level: level + 1)
            }
        }
    }

    /// Writes `open`, the elements separated by commas (one per line unless `inline`), and `close`.
    private func writeContainer(
        open: String, close: String, count: Int, inline: Bool, layout: JSONLayout, level: Int,
        to output: inout String, element: (Int, inout String) -> Void
    ) {
        output += open
        guard count > 0 else {
            output += close
            return
        }
        let indent = layout.indent ?? 0
        let inner = inline ? "" : "\n" + String(repeating: " ", count: indent * (level + 1))
        let separator = inline ? (layout.indent == nil ? "," : ", ") : ","
        for index in 0..<count {
            if index > 0 { output += separator }
            output += inner
            element(index, &output)
        }
        if !inline { output += "\n" + String(repeating: " ", count: indent * level) }
        output += close
    }

    /// A double's shortest round-tripping text, always recognisable as a float (`10000.0`, `1e-05`).
    static func text(of value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        return value.description
    }

    static func writeString(_ value: String, to output: inout String) {
        output += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case _ where scalar.value < 0x20: output += String(format: "\\u%04x", scalar.value)
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
