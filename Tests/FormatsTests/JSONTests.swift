import Formats
import XCTest

final class JSONTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Data(text.utf8), file: "test.json") }

    func testParsesEveryKindOfValue() throws {
        let value = try parse(
            #" {"a": [1, -2, 3.5, 1e-05, 8192.0, true, false, null], "b": {"c": "x"}, "d": NaN, "e": -Infinity} "#)
        let object = try XCTUnwrap(value.objectValue)
        XCTAssertEqual(object.keys, ["a", "b", "d", "e"], "order is kept")
        XCTAssertEqual(object["a"], [1, -2, 3.5, 1e-05, 8192.0, true, false, nil])
        XCTAssertEqual(object["a"]?.arrayValue?[4].intValue, 8192, "integral doubles read as integers")
        XCTAssertNil(object["a"]?.arrayValue?[2].intValue)
        XCTAssertEqual(object["b"]?.objectValue?["c"], "x")
        XCTAssertTrue(object["d"]?.doubleValue?.isNaN == true)
        XCTAssertEqual(object["e"]?.doubleValue, -.infinity)
        XCTAssertEqual(try parse("9007199254740993"), .int(9_007_199_254_740_993), "large integers stay exact")
    }

    func testDecodesEscapesAndSurrogatePairs() throws {
        XCTAssertEqual(
            try parse(#""a\"b\\c\/d\n\t\r\b\f\u0041\u00e9\ud83d\ude00""#), .string("a\"b\\c/d\n\t\r\u{08}\u{0C}Aé😀"))
        XCTAssertEqual(try parse(#""Ġ日本""#), .string("Ġ日本"))
    }

    func testErrorsNameTheFileAndPosition() {
        assertFormatError(try parse(#"{"a": 1,}"#), mentions: ["test.json", "line 1, column 9", "string key"])
        assertFormatError(try parse("{\"a\": 1,\n \"a\": 2}"), mentions: ["line 2", "duplicate key \"a\""])
        assertFormatError(try parse(#""\ud800x""#), mentions: ["lone surrogate"])
        assertFormatError(try parse("\"a\nb\""), mentions: ["control character"])
        assertFormatError(try parse("[1] 2"), mentions: ["after the JSON value"])
        assertFormatError(try parse("01"), mentions: ["after the JSON value"])
        assertFormatError(try parse("[" + String(repeating: "[", count: 600)), mentions: ["nesting deeper"])
        assertFormatError(
            try JSONValue.parse(Data([0x22, 0xFF, 0x22]), file: "bin.json"), mentions: ["bin.json", "UTF-8"])
    }

    func testWritesWhatItReads() throws {
        let value: JSONValue = .object([
            "text": .string("quote \" backslash \\ newline \n tab \t control \u{01} é 😀"),
            "numbers": [0, -7, 0.5, 1e-05, 10000.0, 123_456_789_012],
            "nested": .object(["empty": [], "object": .object(JSONObject())]),
            "flags": [true, false, nil],
        ])
        for layout in [JSONLayout.compact, .pretty, JSONLayout(indent: 4, sortKeys: true)] {
            XCTAssertEqual(
                try JSONValue.parse(value.serializedData(layout), file: "round trip"),
                layout.sortKeys ? try sorted(value) : value)
        }
        XCTAssertEqual(JSONValue.array([1, 2.0, "a"]).serialized(), #"[1,2.0,"a"]"#)
        XCTAssertEqual(
            JSONValue.object(["b": 1, "a": [1, 2]]).serialized(.pretty), "{\n  \"b\": 1,\n  \"a\": [1, 2]\n}")
        XCTAssertEqual(JSONValue.object(["b": 1, "a": 2]).serialized(JSONLayout(sortKeys: true)), #"{"a":2,"b":1}"#)
        XCTAssertEqual(JSONValue.double(1e-05).serialized(), "1e-05")
    }

    private func sorted(_ value: JSONValue) throws -> JSONValue {
        switch value {
        case .object(let object):
            return .object(JSONObject(try object.keys.sorted().map { ($0, try sorted(object[$0]!)) }))
        case .array(let elements):
            return .array(try elements.map(sorted))
        default:
            return value
        }
    }
}
