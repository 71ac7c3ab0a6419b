import Foundation

/// A benchmark result printed as one line of JSON with sorted keys (what `--json` prints).
public protocol JSONLineEncodable: Encodable {}

extension JSONLineEncodable {
    /// The value as one line of JSON.
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// `value` rounded to `digits` decimals, so printed figures do not carry float noise.
    func rounded(_ value: Double, _ digits: Int) -> Double {
        let scale = Foundation.pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }
}
