import Testing

@testable import Monitor

struct LayeredValuesTests {
    let split = LayeredValues(["port": .int(81), "host": "h"], defaults: ["port": .int(80), "timeout": .int(30), "verify": true])

    @Test func aWrittenValueWinsOverItsDefault() {
        #expect(split["port"] == .int(81) && split["timeout"] == .int(30) && split["host"] == "h" && split["nope"] == nil)
        #expect(split.merged == ["host": "h", "port": .int(81), "timeout": .int(30), "verify": true])
        #expect(split.sortedMembers.map(\.key) == ["host", "port", "timeout", "verify"])
        #expect(split.sortedMembers.map(\.value) == ["h", .int(81), .int(30), true])
        #expect(!split.isEmpty && LayeredValues().isEmpty && !LayeredValues([:], defaults: ["a": 1]).isEmpty)
    }

    @Test func itWritesTheJSONOfTheMergedObject() {
        var out: [UInt8] = []
        split.write(into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"{"host":"h","port":81,"timeout":30,"verify":true}"#)
        #expect(String(decoding: out, as: UTF8.self) == JSONValue.object(split.merged).json())
        var empty: [UInt8] = []
        LayeredValues().write(into: &empty)
        #expect(String(decoding: empty, as: UTF8.self) == "{}")
    }

    @Test func howItIsSplitDoesNotMatter() {
        let whole: LayeredValues = ["host": "h", "port": .int(81), "timeout": .int(30), "verify": true]
        let other = LayeredValues([:], defaults: whole.merged)
        #expect(split == whole && whole == other && split.hashValue == whole.hashValue && other.hashValue == whole.hashValue)
        #expect(whole.defaults.isEmpty && whole.written.count == 4)
        #expect(split != LayeredValues(["port": .int(81), "host": "h"], defaults: ["port": .int(80)]))
        var replaced = split
        replaced.merged = ["host": "x"]
        #expect(replaced.written == ["host": "x"] && replaced.defaults.isEmpty, "setting the whole replaces both layers")
    }
}
