import Monitor
import Testing

@Suite struct JSONValueParsingTests {
    @Test(arguments: [
        ("1", JSONValue.int(1)),
        ("-0", .int(0)),
        ("1.0", .double(1)),
        ("1e3", .double(1000)),
        ("-2.5E-3", .double(-0.0025)),
        ("123456789012345678901234", .double(1.2345678901234568e23)),
        ("true", .bool(true)),
        ("null", .null),
        (#""a\"b\\c\n\u00e9\ud83d\ude00""#, .string("a\"b\\c\né😀")),
        (#" { "b" : [1, 2.0, "x"], "a": {} } "#, .object(["b": [1, 2.0, "x"], "a": .object([:])])),
    ])
    func readsValuesKeepingIntegersApartFromFractions(text: String, expected: JSONValue) throws {
        #expect(try JSONValue.parse(text) == expected)
    }

    @Test func roundTripsWhatTheWriterProduces() throws {
        let value: JSONValue = [
            "loss": 0.0, "sent": 5, "rtt": 0.051, "tiny": 1e-05, "big": 5e20, "ok": true, "none": .null,
            "text": "tab\tquote\" ctrl\u{01} 雪", "list": [1, [2.5], ["k": "v"]],
        ]
        #expect(try JSONValue.parse(value.json()) == value)
    }

    /// Escapes in runs of plain text, at both ends, and a quote that a combining mark joins into
    /// one Character with the next scalar.
    @Test(arguments: [
        ("plain", #""plain""#), ("\"", #""\"""#), ("a\nb\\", #""a\nb\\""#), ("\u{1F}é\t", #""\u001fé\t""#),
        ("\"\u{301}x", "\"\\\"\u{301}x\""), ("雪\r雪", #""雪\r雪""#),
    ])
    func writesStringsWithTheEscapesRFC8259Requires(text: String, json: String) throws {
        #expect(JSONValue.string(text).json() == json)
        #expect(try JSONValue.parse(json) == .string(text))
    }

    @Test(arguments: ["", "{", "[1,]", "01x", "\"open", "tru", "{\"a\" 1}", "1 2", "\"\\ud800\"", "-", "\"\u{01}\""])
    func rejectsMalformedText(text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(text) }
    }

    /// The reader of text of a known shape: the members it wants, read one by one; the others
    /// stepped over (and checked all the same); a value's text as it stands.
    @Test func aReaderReadsTheMembersItWantsAndStepsOverTheOthers() throws {
        let text = #" {"skip": [1, {"a": "\u00e9"}, null], "port": 443, "name": "w\"e\\b", "raw": { "b" : [2.5] } } "#
        var port: JSONValue?, name: String?, raw: String?
        var seen: [String] = []
        try JSONValue.read(Array(text.utf8)) { reader throws(JSONValue.ParseError) in
            #expect(reader.isAtObject)
            try reader.members { member, reader throws(JSONValue.ParseError) in
                seen.append(member)
                switch member {
                case "port": port = try reader.value()
                case "name": name = try reader.string()
                case "raw": raw = try reader.text()
                default: try reader.skip()
                }
            }
        }
        #expect(seen == ["skip", "port", "name", "raw"])
        #expect(port == .int(443))
        #expect(name == "w\"e\\b")
        #expect(raw == #"{ "b" : [2.5] }"#)
        #expect(try JSONValue.parse(#"{"a": {"b": [1, "\u00e9"]}}"#) == ["a": ["b": [1, "é"]]])
    }

    /// What the reader steps over or keeps as text is checked as `parse` checks it; text after
    /// the value, or a value of another kind than the reader asks for, is an error too.
    @Test(arguments: [
        #"{"skip": [1,], "port": 1}"#, #"{"skip": "\x", "port": 1}"#, #"{"skip": {"a" 1}, "port": 1}"#, #"{"skip": tru, "port": 1}"#,
        #"{"raw": {"a": 01x}}"#, #"{"raw": {"a": "\ud800"}}"#, #"{"port": 1} 2"#, #"{"port": 1"#, #"{"name": 7}"#, #"[1]"#,
    ])
    func aReaderRejectsWhatParseRejects(text: String) {
        #expect(throws: JSONValue.ParseError.self) {
            try JSONValue.read(Array(text.utf8)) { reader throws(JSONValue.ParseError) in
                try reader.members { member, reader throws(JSONValue.ParseError) in
                    switch member {
                    case "name": _ = try reader.string()
                    case "raw": _ = try reader.text()
                    default: try reader.skip()
                    }
                }
            }
        }
    }
}
