import Monitor
import Testing

@testable import Notifiers

@Suite struct LineProtocolTests {
    typealias Point = LineProtocol.Point

    @Test func typesAndOrder() {
        let point = Point(
            measurement: "ping", tags: ["name": "clowder", "env": "prod"],
            fields: ["loss": .float(0.5), "sent": .integer(5), "up": .boolean(true), "message": .string("ok")],
            timestamp: 1_795_611_909_042_000_000)
        #expect(
            LineProtocol.line(point)
                == #"ping,env=prod,name=clowder loss=0.5,message="ok",sent=5i,up=true 1795611909042000000"#)
    }

    @Test(arguments: [
        (LineProtocol.FieldValue.integer(-42), "-42i"),
        (.integer(Int.max), "9223372036854775807i"),
        (.float(100), "100.0"),
        (.float(-0.25), "-0.25"),
        (.float(1e20), "1e+20"),
        (.boolean(false), "false"),
        (.string(#"say "hi" \ bye"#), #""say \"hi\" \\ bye""#),
        (.string("two\nlines\r\n"), #""two\nlines\r\n""#),
        (.string("ünï ✓ 🚑"), "\"ünï ✓ 🚑\""),
    ])
    func fieldValues(_ value: LineProtocol.FieldValue, _ text: String) {
        #expect(LineProtocol.encode(value) == text)
    }

    @Test func nonFiniteFloatsAreLeftOut() {
        #expect(LineProtocol.encode(.float(.nan)) == nil)
        #expect(LineProtocol.encode(.float(.infinity)) == nil)
        let point = Point(measurement: "m", tags: [:], fields: ["bad": .float(.nan), "ok": .integer(1)], timestamp: 1)
        #expect(LineProtocol.line(point) == "m ok=1i 1")
        #expect(LineProtocol.line(Point(measurement: "m", tags: [:], fields: ["bad": .float(.nan)], timestamp: 1)) == nil)
    }

    @Test(arguments: [
        ("plain", "plain", "plain", "plain"),
        ("with space", #"with\ space"#, #"with\ space"#, #"with\ space"#),
        ("a,b", #"a\,b"#, #"a\,b"#, #"a\,b"#),
        ("k=v", "k=v", #"k\=v"#, #"k\=v"#),
        (#"back\slash"#, #"back\slash"#, #"back\slash"#, #"back\slash"#),
        (#"x\,y"#, #"x\\,y"#, #"x\\,y"#, #"x\\\,y"#),
        (#"x\\,y"#, #"x\\\,y"#, #"x\\\,y"#, #"x\\\,y"#),
        (#"trailing\\"#, "trailing", "trailing", "trailing"),
        ("line\nbreak\ttab", #"line\ break\ tab"#, #"line\ break\ tab"#, #"line\ break\ tab"#),
        (#"quote"d"#, #"quote"d"#, #"quote"d"#, #"quote"d"#),
        ("ünï ✓", #"ünï\ ✓"#, #"ünï\ ✓"#, #"ünï\ ✓"#),
    ])
    func names(_ raw: String, _ measurement: String, _ tag: String, _ fieldKey: String) {
        #expect(LineProtocol.escape(raw, .measurement) == measurement)
        #expect(LineProtocol.escape(raw, .tag) == tag)
        #expect(LineProtocol.escape(raw, .fieldKey) == fieldKey)
    }

    @Test func emptyTagsAreLeftOutAndTimeIsRenamed() {
        let point = Point(
            measurement: "m", tags: ["": "x", "empty": "", "only-backslash": #"\"#, "time": "t"],
            fields: ["time": .float(1.5)], timestamp: 7)
        #expect(LineProtocol.line(point) == "m,time_=t time_=1.5 7")
    }

    @Test func tagsSortByteWise() {
        let point = Point(measurement: "m", tags: ["b": "1", "B": "2", "a": "3", "é": "4"], fields: ["f": .integer(1)], timestamp: 0)
        #expect(LineProtocol.line(point) == "m,B=2,a=3,b=1,é=4 f=1i 0")
    }

    @Test func pointFromResult() {
        let result = CheckResult(
            status: .failure, check: "download", label: "front page",
            message: "HTTP 503 after 1.2 s",
            measurement: ["code": 503, "seconds": 1.25, "ok": false, "server": "nginx", "nested": ["a": 1]],
            createdMillis: 1_795_611_909_042,
            config: [
                "url": "https://user:********@example.org:8443/status?token=abc#top", "timeout": 10,
                "password": "********", "headers": ["Authorization": "********"],
            ])
        let point = Point(result: result, configured: ["env": "prod", "name": "overridden"])
        #expect(point.measurement == "download")
        #expect(point.tags == ["env": "prod", "name": "front page", "url": "https://example.org:8443/status"])
        #expect(point.fields == ["code": .integer(503), "seconds": .float(1.25), "ok": .boolean(false), "status": .string("failure"), "message": .string("HTTP 503 after 1.2 s")])
        #expect(point.timestamp == 1_795_611_909_042_000_000)
        #expect(
            LineProtocol.line(point)
                == #"download,env=prod,name=front\ page,url=https://example.org:8443/status code=503i,message="HTTP 503 after 1.2 s",ok=false,seconds=1.25,status="failure" 1795611909042000000"#)
    }

    @Test func hostAndPortTags() {
        let result = CheckResult(status: .success, check: "hostport", label: "db", message: "open", config: ["host": "db.example.org", "port": 5432])
        #expect(Point(result: result, configured: [:]).tags == ["host": "db.example.org", "port": "5432", "name": "db"])
    }

    @Test(arguments: [
        ("http://example.org", "http://example.org"),
        ("https://u:p@example.org/x?y=1", "https://example.org/x"),
        ("https://example.org/a@b", "https://example.org/a@b"),
        ("no scheme?q", "no scheme"),
    ])
    func publicURLs(_ url: String, _ expected: String) {
        #expect(Point.publicURL(url) == expected)
    }
}
