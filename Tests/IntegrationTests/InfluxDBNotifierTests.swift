import Foundation
import Logging
import Monitor
import Testing

@testable import Notifiers

/// `influxdb` against the real InfluxDB 1.x of scripts/services.sh (write, read back, escaping,
/// an outage with the server stopped and started again), and `influxdb_v2` against a local
/// HTTP server that records the requests. Serialized: one test stops the shared server.
@Suite(.serialized) struct InfluxDBNotifierTests {
    static let base = 1_795_611_909_042 as Int64  // 2026-11-25T13:05:09.042Z

    static func notifier(
        _ target: InfluxDBTarget, tags: [String: String] = [:], flushInterval: Double = 0.2, flushSize: Int = 1000,
        bufferSize: Int = 10_000, logger: Logger = Logger(label: "test.influxdb")
    ) -> InfluxDBNotifier {
        InfluxDBNotifier(
            target: target, tags: tags, flushInterval: flushInterval, flushSize: flushSize, bufferSize: bufferSize,
            client: .shared, logger: logger)
    }

    /// 30 s per request: on a loaded machine InfluxDB's first write to a new database took over
    /// 5 s, and a write that times out is retried later with the next batch, which changes what
    /// a test of batches counts (these tests are not about timeouts).
    static func v1Target(_ url: String, database: String) -> InfluxDBTarget {
        InfluxDBTarget(api: .v1(database: database, username: nil, password: nil), baseURL: url, verifyTLS: true, caFile: nil, timeout: 30)
    }

    static func uniqueDatabase() -> String { "hm_test_" + ResultID.next().replacing("-", with: "") }

    /// Waits until `condition` holds, polling every 50 ms.
    static func waitUntil(timeout: Double = 15, _ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while !condition() {
            if ContinuousClock.now > deadline {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test(.needs(.influxdb)) func writesPointsThatReadBackWithTagsFieldsTypesAndTimestamps() async throws {
        let url = try TestServers.value("HM_INFLUXDB_URL")
        let database = Self.uniqueDatabase()
        let influx = InfluxQuery(url: url, database: database)
        #expect(try await !influx.databases().contains(database))

        let notifier = Self.notifier(Self.v1Target(url, database: database), tags: ["env": "test", "site": "ncsa"])
        let runner = Task { try await notifier.run() }
        let results = [
            CheckResult(
                status: .success, check: "ping", label: "clowder", message: "5/5 packets",
                measurement: ["loss": 0.0, "sent": 5, "reachable": true, "note": "ignored string"],
                createdMillis: Self.base, config: ["host": "clowder.example.org", "count": 5]),
            CheckResult(
                status: .failure, check: "ping", label: "clowder", message: "0/5 packets",
                measurement: ["loss": 100.0, "sent": 5, "reachable": false], createdMillis: Self.base + 10_000,
                config: ["host": "clowder.example.org", "count": 5]),
            CheckResult(
                status: .success, check: "hostport", label: "db", message: "open", measurement: ["connect_ms": 1.5],
                createdMillis: Self.base + 1, config: ["host": "db.example.org", "port": 5432, "password": "********"]),
            CheckResult(
                status: .success, check: "download", label: "front", message: "200 OK", measurement: ["status_code": 200, "bytes": 5120],
                createdMillis: Self.base + 2, config: ["url": "https://user:********@example.org/index.html?key=abc"]),
        ]
        try await notifier.send(results.map { Delivery(result: $0, reason: .always) })
        try await Self.waitUntil("4 points written") { notifier.counters.written == 4 }
        runner.cancel()
        await notifier.shutdown()

        #expect(try await influx.databases().contains(database))  // created by the notifier
        let ping = try await influx.select("SELECT * FROM ping")
        #expect(ping.columns == ["time", "env", "host", "loss", "message", "name", "reachable", "sent", "site", "status"])
        #expect(ping.rows.count == 2)
        #expect(ping.rows[0]["time"]?.int == Self.base * 1_000_000)
        #expect(ping.rows[1]["time"]?.int == (Self.base + 10_000) * 1_000_000)
        #expect(ping.rows[0]["name"]?.string == "clowder")
        #expect(ping.rows[0]["host"]?.string == "clowder.example.org")
        #expect(ping.rows[0]["env"]?.string == "test")
        #expect(ping.rows[0]["status"]?.string == "success")
        #expect(ping.rows[1]["status"]?.string == "failure")
        #expect(ping.rows[1]["message"]?.string == "0/5 packets")
        #expect(ping.rows[1]["loss"]?.double == 100)
        #expect(ping.rows[0]["sent"]?.int == 5)
        #expect(ping.rows[0]["reachable"]?.bool == true)
        #expect(ping.rows[1]["reachable"]?.bool == false)

        let fieldTypes = try await influx.fieldTypes("ping")
        #expect(fieldTypes == ["loss": "float", "sent": "integer", "reachable": "boolean", "message": "string", "status": "string"])
        #expect(try await influx.tagKeys("ping") == ["env", "host", "name", "site"])

        let hostport = try await influx.select("SELECT * FROM hostport")
        #expect(hostport.rows.first?["port"]?.string == "5432")
        #expect(hostport.rows.first?["host"]?.string == "db.example.org")
        #expect(hostport.rows.first?["time"]?.int == (Self.base + 1) * 1_000_000)
        #expect(!hostport.columns.contains("password"))

        let download = try await influx.select("SELECT * FROM download")
        #expect(download.rows.first?["url"]?.string == "https://example.org/index.html")
        #expect(try await influx.fieldTypes("download") == ["status_code": "integer", "bytes": "integer", "message": "string", "status": "string"])
        try await influx.drop()
    }

    /// Labels and messages with every character the line protocol treats specially.
    static let hostile: [(label: String, storedLabel: String, message: String, storedMessage: String)] = [
        ("with space", "with space", "plain", "plain"),
        ("comma,separated", "comma,separated", "a,b c=d", "a,b c=d"),
        ("key=value", "key=value", #"say "hi""#, #"say "hi""#),
        (#"back\slash"#, #"back\slash"#, #"C:\path\to\file"#, #"C:\path\to\file"#),
        (#"esc\,aped"#, #"esc\,aped"#, #"ends with \"#, #"ends with \"#),
        (#"double\\,run"#, #"double\\,run"#, #"\"quoted\""#, #"\"quoted\""#),
        (#"trailing\"#, "trailing", "two\nlines", #"two\nlines"#),
        ("new\nline", "new line", "tab\there", "tab\there"),
        ("ünïcödé ✓ 日本 🚑", "ünïcödé ✓ 日本 🚑", "ünïcödé ✓ 日本 🚑", "ünïcödé ✓ 日本 🚑"),
        (#"all ,= "\ of them"#, #"all ,= "\ of them"#, #"all ,= "\ of them"#, #"all ,= "\ of them"#),
    ]

    @Test(.needs(.influxdb)) func hostileLabelsAndMessagesRoundTrip() async throws {
        let url = try TestServers.value("HM_INFLUXDB_URL")
        let database = Self.uniqueDatabase()
        let influx = InfluxQuery(url: url, database: database)
        let notifier = Self.notifier(Self.v1Target(url, database: database))
        let deliveries = Self.hostile.enumerated().map { index, item in
            Delivery(
                result: CheckResult(
                    status: .failure, check: "random", label: item.label, message: item.message, measurement: ["value": .int(index)],
                    createdMillis: Self.base + Int64(index)),
                reason: .always)
        }
        try await notifier.send(deliveries)
        await notifier.flush()
        #expect(notifier.counters.written == Self.hostile.count)
        #expect(notifier.counters.rejected == 0)
        await notifier.shutdown()

        let rows = try await influx.select("SELECT * FROM random").rows
        #expect(rows.count == Self.hostile.count)
        for (index, item) in Self.hostile.enumerated() {
            let row = rows.first { $0["value"]?.int == Int64(index) }
            #expect(row?["name"]?.string == item.storedLabel, "label \(item.label.debugDescription)")
            #expect(row?["message"]?.string == item.storedMessage, "message \(item.message.debugDescription)")
            #expect(row?["time"]?.int == (Self.base + Int64(index)) * 1_000_000)
        }
        try await influx.drop()
    }

    @Test(.needs(.influxdb)) func aBadPointIsRejectedWithoutBlockingTheOthers() async throws {
        let url = try TestServers.value("HM_INFLUXDB_URL")
        let database = Self.uniqueDatabase()
        let influx = InfluxQuery(url: url, database: database)
        let notifier = Self.notifier(Self.v1Target(url, database: database))
        // `loss` is a float first, then an integer: InfluxDB refuses the second point (type conflict).
        try await notifier.send([Delivery(result: CheckResult(status: .success, check: "ping", label: "a", message: "ok", measurement: ["loss": 0.5], createdMillis: Self.base), reason: .always)])
        await notifier.flush()
        try await notifier.send([
            Delivery(result: CheckResult(status: .success, check: "ping", label: "b", message: "ok", measurement: ["loss": 1], createdMillis: Self.base + 1), reason: .always),
            Delivery(result: CheckResult(status: .success, check: "ping", label: "c", message: "ok", measurement: ["loss": 2.5], createdMillis: Self.base + 2), reason: .always),
        ])
        await notifier.flush()
        #expect(notifier.counters.written == 1)
        #expect(notifier.counters.rejected == 2)  // the batch with the bad point, counted as a whole
        #expect(notifier.buffered == 0)  // not retried forever
        // InfluxDB 1.x kept the valid point of the rejected batch ("partial write").
        let names = try await influx.select("SELECT * FROM ping").rows.compactMap { $0["name"]?.string }
        #expect(names == ["a", "c"])
        await notifier.shutdown()
        try await influx.drop()
    }

    @Test(.needs(.influxdb, .script)) func pointsBufferedDuringAnOutageArriveAfterTheRestart() async throws {
        let url = try TestServers.value("HM_INFLUXDB_URL")
        let script = try TestServers.value("HM_SERVICES_SCRIPT")
        let database = Self.uniqueDatabase()
        let influx = InfluxQuery(url: url, database: database)
        let logs = LogRecorder()
        let notifier = Self.notifier(Self.v1Target(url, database: database), flushInterval: 0.2, logger: logs.logger())
        let runner = Task { try await notifier.run() }
        func batch(_ range: Range<Int>) -> [Delivery] {
            range.map {
                Delivery(
                    result: CheckResult(status: .failure, check: "hostport", label: "svc\($0)", message: "down", measurement: ["n": .int($0)], createdMillis: Self.base + Int64($0)),
                    reason: .always)
            }
        }
        try await notifier.send(batch(0..<5))
        try await Self.waitUntil("first points written") { notifier.counters.written == 5 }

        #expect(try Self.services(script, "stop-one", "influxdb") == 0)
        var restarted = false
        defer { if !restarted { _ = try? Self.services(script, "start-one", "influxdb") } }
        try await notifier.send(batch(5..<25))
        try await Self.waitUntil("failed writes") { notifier.counters.failedWrites >= 2 }
        try await notifier.send(batch(25..<40))
        #expect(notifier.buffered == 35)
        #expect(notifier.counters.written == 5)

        #expect(try Self.services(script, "start-one", "influxdb") == 0)
        restarted = true
        try await Self.waitUntil(timeout: 30, "buffered points written") { notifier.counters.written == 40 }
        runner.cancel()
        await notifier.shutdown()

        let rows = try await influx.select("SELECT * FROM hostport").rows
        #expect(rows.compactMap { $0["n"]?.int } == (0..<40).map(Int64.init))
        #expect(notifier.counters.dropped == 0)
        #expect(logs.text.contains("InfluxDB write failed, keeping points for later"))
        #expect(logs.text.contains("InfluxDB writes resumed"))
        try await influx.drop()
    }

    @Test(.needs(.influxdb)) func aFullBufferDropsTheOldestAndCountsThem() async throws {
        // Nothing listens on this port: every write fails.
        let logs = LogRecorder()
        let notifier = Self.notifier(Self.v1Target("http://127.0.0.1:9", database: "x"), bufferSize: 10, logger: logs.logger())
        for start in stride(from: 0, to: 25, by: 5) {
            try await notifier.send(
                (start..<start + 5).map {
                    Delivery(result: CheckResult(status: .failure, check: "c", label: "l\($0)", message: "m", createdMillis: Self.base + Int64($0)), reason: .always)
                })
        }
        await notifier.flush()
        #expect(notifier.buffered == 10)
        #expect(notifier.counters.dropped == 15)
        #expect(logs.text.contains("oldest points dropped"))
        await notifier.shutdown()
        #expect(notifier.counters.dropped == 25)  // the 10 left at shutdown are lost too
        #expect(logs.text.contains("points lost"))
    }

    @Test(.needs(.influxdb)) func pointsUnwrittenAtShutdownAreSavedAndWrittenAfterTheNextStart() async throws {
        let url = try TestServers.value("HM_INFLUXDB_URL")
        let database = Self.uniqueDatabase()
        let influx = InfluxQuery(url: url, database: database)
        let directory = try LocalHTTPServer.makeTemporaryDirectory()
        defer { _ = try? LocalHTTPServer.run(["/bin/rm", "-rf", directory]) }
        let spool = directory + "/unsent.lp"
        let deliveries = (0..<3).map {
            Delivery(result: CheckResult(status: .failure, check: "ping", label: "p\($0)", message: "down", createdMillis: Self.base + Int64($0)), reason: .always)
        }

        // First run: InfluxDB unreachable (nothing listens on port 9).
        let first = InfluxDBNotifier(
            target: Self.v1Target("http://127.0.0.1:9", database: database), tags: [:], flushInterval: 0.2, flushSize: 1000,
            bufferSize: 100, client: .shared, logger: Logger(label: "test"), spoolPath: spool)
        try await first.send(deliveries)
        await first.shutdown()
        #expect(first.counters.dropped == 0)
        #expect(try FileSystem.readText(spool).split(separator: "\n").count == 3)

        // Second run, InfluxDB back: the saved points go out (and `once`-style use, without
        // `run()`, still keeps them: shutdown loads the file first).
        let second = InfluxDBNotifier(
            target: Self.v1Target(url, database: database), tags: [:], flushInterval: 0.2, flushSize: 1000,
            bufferSize: 100, client: .shared, logger: Logger(label: "test"), spoolPath: spool)
        await second.shutdown()
        #expect(second.counters.written == 3)
        #expect(!FileSystem.exists(spool))
        let names = try await influx.select("SELECT * FROM ping").rows.compactMap { $0["name"]?.string }
        #expect(names == ["p0", "p1", "p2"])
        try await influx.drop()
    }

    @Test func v2WriteAPIGetsTokenOrgBucketPrecisionAndBody() async throws {
        try await LocalHTTPServer.with { server in
            let logs = LogRecorder()
            let target = InfluxDBTarget(
                api: .v2(org: "my org", bucket: "health/checks", token: "s3cr3t-t0ken"), baseURL: server.base + "/hook/ok",
                verifyTLS: true, caFile: nil, timeout: 5)
            let notifier = Self.notifier(target, tags: ["env": "prod"], logger: logs.logger())
            let results = (0..<3).map { (n: Int) -> CheckResult in
                let rtt: JSONValue = .double(0.25 * Double(n + 1))
                let host: JSONValue = .string("10.0.0.\(n)")
                return CheckResult(
                    status: .success, check: "ping", label: "node \(n)", message: "ok \"\(n)\"", measurement: ["rtt": rtt],
                    createdMillis: Self.base + Int64(n), config: ["host": host])
            }
            try await notifier.send(results.map { Delivery(result: $0, reason: .always) })
            await notifier.flush()
            #expect(notifier.counters.written == 3)
            await notifier.shutdown()

            let requests = try await Self.requests(server, "/hook/ok")
            try #require(requests.count == 1)
            let request = requests[0]
            #expect(request.method == "POST")
            #expect(request.path == "/hook/ok/api/v2/write")
            #expect(request.query == ["org": "my org", "bucket": "health/checks", "precision": "ns"])
            #expect(request.header("Authorization") == "Token s3cr3t-t0ken")
            #expect(request.header("Content-Type") == "text/plain; charset=utf-8")
            #expect(
                request.body == """
                    ping,env=prod,host=10.0.0.0,name=node\\ 0 message="ok \\"0\\"",rtt=0.25,status="success" 1795611909042000000
                    ping,env=prod,host=10.0.0.1,name=node\\ 1 message="ok \\"1\\"",rtt=0.5,status="success" 1795611909043000000
                    ping,env=prod,host=10.0.0.2,name=node\\ 2 message="ok \\"2\\"",rtt=0.75,status="success" 1795611909044000000

                    """)
            #expect(!logs.text.contains("s3cr3t"))
        }
    }

    @Test func v2ServerErrorsKeepThePointsAndBadRequestsDropThem() async throws {
        try await LocalHTTPServer.with { server in
            let logs = LogRecorder()
            func notifier(_ behaviour: String) -> InfluxDBNotifier {
                Self.notifier(
                    InfluxDBTarget(
                        api: .v2(org: "o", bucket: "b", token: "s3cr3t-t0ken"), baseURL: server.base + "/hook/" + behaviour,
                        verifyTLS: true, caFile: nil, timeout: 5),
                    logger: logs.logger())
            }
            let delivery = Delivery(result: CheckResult(status: .failure, check: "c", label: "l", message: "m", createdMillis: Self.base), reason: .always)

            // Two 500s, then success: the point waits in the buffer and goes out on the third flush.
            let flaky = notifier("fail500x2")
            try await flaky.send([delivery])
            await flaky.flush()
            await flaky.flush()
            #expect(flaky.buffered == 1)
            #expect(flaky.counters.failedWrites == 2)
            await flaky.flush()
            #expect(flaky.counters.written == 1)
            #expect(flaky.buffered == 0)
            await flaky.shutdown()

            // 400: the receiver refuses the points; retrying cannot help.
            let bad = notifier("bad")
            try await bad.send([delivery])
            await bad.flush()
            #expect(bad.counters.rejected == 1)
            #expect(bad.buffered == 0)
            await bad.shutdown()
            #expect(try await Self.requests(server, "/hook/bad").count == 1)

            // 429 with Retry-After: no write before the pause ends.
            let throttled = notifier("throttle1")
            try await throttled.send([delivery])
            await throttled.flush()
            await throttled.flush()  // still paused: no request
            #expect(try await Self.requests(server, "/hook/throttle1").count == 1)
            try await Task.sleep(for: .seconds(1.1))
            await throttled.flush()
            #expect(throttled.counters.written == 1)
            await throttled.shutdown()

            #expect(logs.text.contains("invalid_payload"))
            #expect(!logs.text.contains("s3cr3t"))
        }
    }

    /// A request the local HTTP server recorded.
    struct RecordedRequest {
        var method: String
        var path: String
        /// Query parameters, percent-decoded.
        var query: [String: String]
        var headers: [String: String]
        var body: String

        func header(_ name: String) -> String? {
            headers.first { $0.key.lowercased() == name.lowercased() }?.value
        }
    }

    static func requests(_ server: LocalHTTPServer, _ prefix: String) async throws -> [RecordedRequest] {
        let response = try await HTTPClient.shared.execute(
            HTTPRequest(url: server.base + "/_requests?prefix=" + prefix, responseBody: .collect(limit: 16 << 20)))
        let list = try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]] ?? []
        return list.map { item in
            var query: [String: String] = [:]
            for pair in (item["query"] as? String ?? "").split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                query[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            return RecordedRequest(
                method: item["method"] as? String ?? "", path: item["path"] as? String ?? "", query: query,
                headers: item["headers"] as? [String: String] ?? [:], body: item["body"] as? String ?? "")
        }
    }

    /// Runs `services.sh ARGUMENTS` and returns its exit status. Through Python's `subprocess`
    /// (`close_fds`): a server it starts must not inherit this process's descriptors, or whoever
    /// waits for their end (Foundation's `Process`, `swift test` reading our output) waits forever.
    static func services(_ script: String, _ arguments: String...) throws -> Int32 {
        let wrapper = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))"
        return try LocalHTTPServer.run(["/usr/bin/python3", "-c", wrapper, script] + arguments, quiet: true)
    }
}

/// Reads InfluxDB 1.x back through its `/query` API (JSON, `epoch=ns`).
struct InfluxQuery {
    var url: String
    var database: String

    /// One value of a result row. InfluxDB's JSON writes the float 100.0 as `100`, so field
    /// types are checked with `SHOW FIELD KEYS`, and `double` accepts integers.
    enum Cell: Decodable, Equatable {
        case null, bool(Bool), int(Int64), double(Double), string(String)

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null; return }
            if let b = try? container.decode(Bool.self) { self = .bool(b); return }
            if let i = try? container.decode(Int64.self) { self = .int(i); return }
            if let d = try? container.decode(Double.self) { self = .double(d); return }
            self = .string(try container.decode(String.self))
        }

        var string: String? { if case .string(let s) = self { s } else { nil } }
        var int: Int64? { if case .int(let i) = self { i } else { nil } }
        var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
        var double: Double? {
            switch self {
            case .double(let d): d
            case .int(let i): Double(i)
            default: nil
            }
        }
    }

    struct Series: Decodable {
        var name: String?
        var columns: [String]
        var values: [[Cell]]?

        /// Each row by column name, nulls left out.
        var rows: [[String: Cell]] {
            (values ?? []).map { row in
                Dictionary(uniqueKeysWithValues: zip(columns, row).filter { $0.1 != .null })
            }
        }
    }

    private struct Reply: Decodable {
        struct Result: Decodable {
            var series: [Series]?
            var error: String?
        }
        var results: [Result]
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run(_ statement: String, post: Bool = false) async throws -> [Series] {
        let query = "db=\(InfluxDBTarget.percentEncoded(database))&epoch=ns&q=\(InfluxDBTarget.percentEncoded(statement))"
        // A whole measurement can be large (820 events are 71 KB): keep all of the reply, not the
        // client's default first 64 KB.
        let limit = HTTPRequest.BodyHandling.collect(limit: 64 << 20)
        let request =
            post
            ? HTTPRequest(
                method: "POST", url: url + "/query", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(query.utf8),
                responseBody: limit)
            : HTTPRequest(url: url + "/query?" + query, responseBody: limit)
        let response = try await HTTPClient.shared.execute(request)
        guard response.status == 200 else { throw Failure(description: "query \(statement): HTTP \(response.status) \(response.bodyText)") }
        guard response.body.count == response.bodyBytes else {
            throw Failure(description: "query \(statement): kept \(response.body.count) of \(response.bodyBytes) bytes of the reply")
        }
        let reply = try JSONDecoder().decode(Reply.self, from: Data(response.body))
        if let error = reply.results.first?.error { throw Failure(description: "query \(statement): \(error)") }
        return reply.results.first?.series ?? []
    }

    func select(_ statement: String) async throws -> Series {
        try await run(statement).first ?? Series(name: nil, columns: [], values: [])
    }

    func databases() async throws -> [String] {
        try await run("SHOW DATABASES").first?.values?.compactMap { $0.first?.string } ?? []
    }

    func fieldTypes(_ measurement: String) async throws -> [String: String] {
        var types: [String: String] = [:]
        for value in try await run("SHOW FIELD KEYS FROM \"\(measurement)\"").first?.values ?? [] {
            if let key = value[0].string, let type = value[1].string { types[key] = type }
        }
        return types
    }

    func tagKeys(_ measurement: String) async throws -> [String] {
        try await run("SHOW TAG KEYS FROM \"\(measurement)\"").first?.values?.compactMap { $0.first?.string } ?? []
    }

    func drop() async throws {
        _ = try await run("DROP DATABASE \"\(database)\"", post: true)
    }
}
