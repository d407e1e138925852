import Monitor
import Testing

@testable import Notifiers

@Suite struct RabbitMQMessageTests {
    @Test func fullFormatFollowsTheEventSinkConventionWithTheWholeResult() throws {
        let result = sampleResult(id: "019ac0e4-0000-7000-8000-000000000001")
        let body = RabbitMQMessage.body(result, format: .full)
        #expect(body.hasPrefix(#"{"category":"healthmonitor","type":"ping","id":"019ac0e4-0000-7000-8000-000000000001","#))
        let object = try #require(try JSONValue.parse(body).objectValue)
        #expect(object["status"] == "failure")
        #expect(object["check"] == "ping")
        #expect(object["label"] == "clowder")
        #expect(object["message"] == "0/5 packets")
        #expect(object["created"] == "2025-11-25T13:05:09.042Z")
        #expect(object["elapsed"] == .double(4.25))
        #expect(object["host"] == "monitor-1")
        #expect(object["measurement"] == ["loss": 100.0, "sent": 5, "reachable": false, "address": "10.0.0.1", "none": .null])
        #expect(object["config"]?.objectValue?["password"] == "********")
        #expect(object.count == 12)
    }

    /// A download's content and certificate facts reach the Clowder event as flat measurements.
    @Test func clowderFormatCarriesTheCertificateFacts() throws {
        let result = CheckResult(
            status: .failure, check: "download", label: "clowder",
            message: "Failed to download the file: certificate for clowder.example.org expires in 3 days (on 2026-12-04)",
            measurement: [
                "status": 200, "total_ms": 12.5, "cert_expires_days": 3.04, "cert_expires_at": 1_796_409_309,
                "cert_subject": "CN = clowder.example.org", "cert_issuer": "C = US, O = Let's Encrypt, CN = R11", "tls_version": "TLSv1.3",
            ])
        let object = try #require(try JSONValue.parse(RabbitMQMessage.body(result, format: .clowder)).objectValue)
        #expect(object["healthy"] == false && object["type"] == "down")
        #expect(object["message"] == "Failed to download the file: certificate for clowder.example.org expires in 3 days (on 2026-12-04)")
        #expect(object["measurement_cert_expires_days"] == .double(3.04))
        #expect(object["measurement_cert_expires_at"] == 1_796_409_309)
        #expect(object["measurement_cert_subject"] == "CN = clowder.example.org")
        #expect(object["measurement_cert_issuer"] == "C = US, O = Let's Encrypt, CN = R11")
        #expect(object["measurement_tls_version"] == "TLSv1.3")
    }

    /// Clowder's event sink keys a point by `created` (ms) and the kind's tags: two events of one
    /// millisecond and one kind move apart, by the least, and an event that comes late keeps its
    /// own free millisecond; the other kind is not moved; past 1 s of shift an event keeps its own.
    @Test func clowderCreatedIsUniquePerKind() throws {
        var times = ClowderTimes()
        func created(_ label: String, _ status: Monitor.Status, at millis: Int64) throws -> Int? {
            var result = sampleResult(label: label)
            result.status = status
            result.createdMillis = millis
            let body = RabbitMQMessage.body(result, format: .clowder, times: &times)
            return try JSONValue.parse(body).objectValue?["created"]?.intValue
        }
        #expect(try created("a", .failure, at: 1000) == 1000)
        #expect(try created("b", .failure, at: 1000) == 1001)
        #expect(try created("c", .failure, at: 1000) == 1002)
        #expect(try created("d", .success, at: 1000) == 1000, "the other kind")
        #expect(try created("e", .failure, at: 1050) == 1050)
        #expect(try created("f", .failure, at: 990) == 990, "a late event keeps its free millisecond")
        #expect(try created("g", .failure, at: 1001) == 1003)
        for i in 0...1000 { _ = try created("h\(i)", .success, at: 5000) }  // 5000 ... 6000
        #expect(try created("i", .success, at: 5000) == 5000, "past 1 s of shift: its own time")
    }

    /// Clowder's InfluxDB consumer reads these keys; `created` must be an integer.
    @Test func clowderFormatIsAFlatEventWithAnIntegerCreated() throws {
        var result = sampleResult(id: "019ac0e4-0000-7000-8000-000000000002")
        result.uptime = 0.75
        let body = RabbitMQMessage.body(result, format: .clowder)
        #expect(body.hasPrefix(#"{"created":1764075909042,"category":"service_status","type":"down","service_name":"clowder","healthy":false,"#))
        let object = try #require(try JSONValue.parse(body).objectValue)
        #expect(object["response_time_loss"] == .double(100))
        #expect(object["response_time_avg"] == nil, "a ping without replies has no times")
        #expect(object["uptime"] == .double(0.75))
        #expect(object["id"] == "019ac0e4-0000-7000-8000-000000000002")
        #expect(object["check"] == "ping" && object["label"] == "clowder" && object["status"] == "failure")
        #expect(object["message"] == "0/5 packets" && object["host"] == "monitor-1")
        #expect(object["elapsed"] == .double(4.25))
        #expect(object["measurement_loss"] == .double(100) && object["measurement_sent"] == 5)
        #expect(object["measurement_reachable"] == false && object["measurement_address"] == "10.0.0.1")
        #expect(object["measurement_none"] == .null)
        #expect(object["config"] == nil && object["measurement"] == nil)
        for (key, value) in object {
            switch value {
            case .object, .array: Issue.record("\(key) is nested")
            default: break
            }
        }
        // Times and ratios are written with a fraction: InfluxDB must never see an integer there.
        #expect(body.contains(#""response_time_loss":100.0"#) && body.contains(#""uptime":0.75"#))
    }

    /// Measurement names are escaped after their prefix; the event is valid JSON whatever they hold.
    @Test func clowderMeasurementNamesAreEscapedAfterTheirPrefix() throws {
        let result = CheckResult(
            status: .success, check: "random", label: "r", message: "ok",
            measurement: ["a\"b": 1, "ü\n": "x", "nested": ["k": [1, 2]]], createdMillis: 1_764_075_909_042)
        let body = RabbitMQMessage.body(result, format: .clowder)
        #expect(body.contains(#""measurement_a\"b":1"#))
        #expect(body.contains(#""measurement_ü\n":"x""#))
        let object = try #require(try JSONValue.parse(body).objectValue)
        #expect(object["measurement_a\"b"] == 1)
        #expect(object["measurement_ü\n"] == "x")
        #expect(object["measurement_nested"] == .string(#"{"k":[1,2]}"#))
        #expect(body.hasSuffix(#""measurement_ü\n":"x"}"#), "members in name order, the object closed")
    }

    @Test(arguments: [
        ("ping", ["avg": 0.05, "min": 0.04, "max": 0.07, "loss": 20.0], Status.success, [0.05, 0.04, 0.07], 20.0 as Double?),
        ("ping", ["avg": 0.05, "min": 0.04, "max": 0.07, "loss": 60.0], .failure, [0.05, 0.04, 0.07], 60.0),
        ("ping", [:], .failure, [], 100.0),
        ("hostport", ["connect_ms": 12.0, "dns_ms": 0.1], .success, [12.0, 12.0, 12.0], nil),
        ("hostport", ["connect_ms": 3.0], .failure, [], nil),
        ("download", ["total_ms": 250.5, "connect_ms": 1.0], .success, [250.5, 250.5, 250.5], nil),
        ("download", ["total_ms": 250.5], .failure, [], nil),
        ("filewrite", ["write_ms": 0.8], .success, [0.8, 0.8, 0.8], nil),
        ("random", ["value": 0.3], .success, [], nil),
    ] as [(String, [String: Double], Status, [Double], Double?)])
    func responseTimesPerCheckType(check: String, measured: [String: Double], status: Status, times: [Double], loss: Double?) throws {
        let result = CheckResult(
            status: status, check: check, label: "svc", message: "m", measurement: measured.mapValues { .double($0) })
        let event = try #require(try JSONValue.parse(RabbitMQMessage.body(result, format: .clowder)).objectValue)
        let got = ["response_time_avg", "response_time_min", "response_time_max"].compactMap { event[$0]?.doubleValue }
        #expect(got == times)
        #expect(event["response_time_loss"]?.doubleValue == loss)
        #expect(event["type"] == .string(status == .success ? "up" : "down"))
        #expect(event["healthy"] == .bool(status == .success))
        #expect(event["service_name"] == "svc")
    }

    @Test func timestampIsWholeUnixSeconds() {
        #expect(RabbitMQMessage.timestamp(sampleResult()) == 1_764_075_909)
    }
}

@Suite struct UptimeBookTests {
    let minute: Int64 = 60_000

    @Test func theRatioCoversTheWindowOnly() {
        let book = UptimeBook(window: 3600)  // buckets of 2.5 s
        let start: Int64 = 1_800_000_000_000
        #expect(book.ratio("ping/a", atMillis: start) == nil)
        for i in 0..<60 { book.record("ping/a", success: i % 4 != 0, atMillis: start + Int64(i) * minute) }
        // All 60 runs within the hour: 45 of 60 succeeded.
        #expect(book.ratio("ping/a", atMillis: start + 59 * minute) == 0.75)
        // Half an hour on, only the runs started within the last hour count (i ≥ 30).
        let later = start + 89 * minute + 30_000
        let kept = (30..<60).filter { Int64($0) * minute > 89 * minute + 30_000 - 3_600_000 }
        let ok = kept.filter { $0 % 4 != 0 }.count
        #expect(book.ratio("ping/a", atMillis: later) == Double(ok) / Double(kept.count))
        #expect(book.ratio("ping/other", atMillis: later) == nil)
        #expect(book.ratio("ping/a", atMillis: start + 200 * minute) == nil, "everything left the window")
    }

    @Test func aSavedBookIsLoadedIntoAnyBucketSize() throws {
        let start: Int64 = 1_800_000_000_000
        let book = UptimeBook(window: 86400)
        for i in 0..<10 { book.record("hostport/db", success: i != 3, atMillis: start + Int64(i) * 1000) }
        let (json, changed) = book.snapshot(markClean: true)
        #expect(changed)
        #expect(book.snapshot(markClean: true).changed == false)
        let again = UptimeBook(window: 86400)
        #expect(again.load(json: json) == nil)
        #expect(again.ratio("hostport/db", atMillis: start + 9000) == 0.9)
        let coarser = UptimeBook(window: 7 * 86400)  // other buckets: counts are merged, not lost
        #expect(coarser.load(json: json) == nil)
        #expect(coarser.ratio("hostport/db", atMillis: start + 9000) == 0.9)
        #expect(UptimeBook(window: 60).load(json: "{}") != nil)
    }
}
