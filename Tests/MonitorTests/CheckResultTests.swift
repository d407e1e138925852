import Foundation
import Monitor
import Testing

@Suite struct CheckResultTests {
    @Test func jsonHasEveryFieldTyped() throws {
        let result = CheckResult(
            id: "0190b1e0-0000-7000-8000-000000000001", status: .failure, check: "ping", label: "clowder \"main\"",
            message: "0/5 packets\nlost", measurement: ["loss": 100.0, "sent": 5, "reachable": false, "address": "192.0.2.1"],
            createdMillis: 1_764_115_509_042, elapsed: 4.25, config: ["host": "192.0.2.1", "count": 5], host: "probe")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.json().utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["id", "status", "check", "label", "message", "measurement", "created", "elapsed", "config", "host"])
        #expect(object["status"] as? String == "failure")
        #expect(object["label"] as? String == "clowder \"main\"")
        #expect(object["message"] as? String == "0/5 packets\nlost")
        #expect(object["created"] as? String == "2025-11-26T00:05:09.042Z")
        #expect(object["elapsed"] as? Double == 4.25)
        let m = try #require(object["measurement"] as? [String: Any])
        #expect(m["loss"] as? Double == 100)
        #expect(m["sent"] as? Int == 5)
        #expect(m["reachable"] as? Bool == false)
        #expect(m["address"] as? String == "192.0.2.1")
        #expect(result.json().hasPrefix("{\"id\":\"0190b1e0-0000-7000-8000-000000000001\",\"status\":\"failure\",\"check\":\"ping\""))
        #expect(result.json(extra: [("category", "healthmonitor")]).hasPrefix("{\"category\":\"healthmonitor\",\"id\":"))
    }

    /// A config written once (as an agent does for its check) gives the same text as the
    /// config written with every result.
    @Test func jsonWithTheConfigWrittenOnceIsTheSame() {
        var result = CheckResult(
            status: .success, check: "hostport", label: "web", message: "ok", measurement: ["connect_ms": 0.25],
            config: ["host": "10.0.0.5", "port": 443, "password": "***"], host: "probe")
        result.location = "eu"
        result.agent = "agent-1"
        let extra: [(String, JSONValue)] = [("request", "r-1")]
        #expect(result.json(extra: extra, configJSON: JSONValue.object(result.config).json()) == result.json(extra: extra))
    }

    @Test func aConfigInTwoPartsReadsComparesAndWritesAsOne() {
        let split = CheckResult(
            id: "x", status: .success, check: "c", label: "l", message: "m", createdMillis: 1,
            config: LayeredValues(["host": "h", "port": .int(81)], defaults: ["port": .int(80), "timeout": .int(30)]), host: "me")
        let whole = CheckResult(
            id: "x", status: .success, check: "c", label: "l", message: "m", createdMillis: 1,
            config: ["host": "h", "port": .int(81), "timeout": .int(30)], host: "me")
        #expect(split.config == ["host": "h", "port": .int(81), "timeout": .int(30)], "the written value wins")
        #expect(split.layeredConfig["port"] == .int(81) && split.layeredConfig["timeout"] == .int(30) && split.layeredConfig["nope"] == nil)
        #expect(split == whole && split.hashValue == whole.hashValue)
        #expect(split.json() == whole.json())
        var other = split
        other.config = ["host": "h"]
        #expect(other.config == ["host": "h"] && other.layeredConfig.defaults.isEmpty, "setting it replaces both layers")
        #expect(other != split)
    }

    @Test func iso8601() {
        #expect(WallClock.iso8601(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(WallClock.iso8601(millis: 951_782_400_007) == "2000-02-29T00:00:00.007Z")
        #expect(WallClock.iso8601(millis: -1) == "1969-12-31T23:59:59.999Z")
        #expect(WallClock.iso8601(millis: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        #expect(WallClock.iso8601(millis: -62_135_596_800_000) == "0001-01-01T00:00:00.000Z")
        #expect(WallClock.iso8601(millis: 1_764_075_909_042) == "2025-11-25T13:05:09.042Z")
    }

    @Test func internetDates() {
        #expect(WallClock.internetDate(millis: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(WallClock.internetDate(millis: 1_795_611_909_042) == "Wed, 25 Nov 2026 13:05:09 GMT")
        #expect(WallClock.internetDate(millis: 951_782_400_000, zone: "+0000", padDay: false) == "Tue, 29 Feb 2000 00:00:00 +0000")
        #expect(WallClock.internetDate(millis: -1000) == "Wed, 31 Dec 1969 23:59:59 GMT")
    }

    @Test func jsonEscapesControlCharactersAndNonFiniteNumbers() {
        #expect(JSONValue.string("a\u{1}b\\\"").json() == "\"a\\u0001b\\\\\\\"\"")
        #expect(JSONValue.double(.infinity).json() == "null")
        #expect(JSONValue.object(["b": 1, "a": [true, .null]]).json() == "{\"a\":[true,null],\"b\":1}")
    }
}

@Suite struct ResultIDTests {
    @Test func uuidVersion7TextAndTime() {
        let millis = WallClock.nowMillis()
        let id = ResultID.next()
        let parts = id.split(separator: "-")
        #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
        #expect(parts[2].first == "7")
        #expect("89ab".contains(parts[3].first!))
        let stamp = UInt64(parts[0] + parts[1], radix: 16) ?? 0
        #expect(stamp >= millis && stamp < millis + 1000)
    }

    @Test(.blocking) func strictlyIncreasingAndUnique() {
        let ids = (0..<20000).map { _ in ResultID.next() }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        // Even when the clock goes backwards.
        let later = ResultID.next(millis: 1)
        #expect(later > ids.last!)
    }
}
