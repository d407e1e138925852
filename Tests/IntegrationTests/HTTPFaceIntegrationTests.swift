import Foundation
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The monitor binary running with its HTTP face on a free loopback port.
final class RunningMonitor: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let directory: String
    let port: Int
    let process: ChildProcess
    let client = HTTPClient(name: "http-face-test")

    /// Starts `healthmonitor run` with `config` (YAML; `PORT` and `DIR` are replaced), and waits
    /// until `/readyz` answers 200 (with `token` when given). A port taken between choosing and
    /// binding it (the face then logs and stays down) is tried again with another, at most 3 times.
    init(config: String, token: String? = nil) async throws {
        directory = scratchDirectory()
        for attempt in 1...3 {
            // Each attempt's log alone: the output is appended, and the last attempt's "not
            // serving" made every later attempt give up at its first look (a flake in CI).
            try? FileManager.default.removeItem(atPath: directory + "/monitor.log")
            let port = Int(try SilentListener.listenPort())
            let text = config.replacingOccurrences(of: "PORT", with: "\(port)").replacingOccurrences(of: "DIR", with: directory)
            try text.write(toFile: directory + "/c.yml", atomically: true, encoding: .utf8)
            let process = try ChildProcess(Binary.path, ["run", "--config", directory + "/c.yml"], output: directory + "/monitor.log", errorsToOutput: true)
            let deadline = MonotonicClock().seconds() + 60
            while MonotonicClock().seconds() < deadline {
                if let response = try? await Self.get("/readyz", port: port, token: token, client: client), response.status == 200 {
                    self.port = port
                    self.process = process
                    return
                }
                if Self.log(in: directory).contains("HTTP face not serving") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            process.signal(SIGTERM)
            _ = process.wait()
            if attempt == 3 {
                client.shutdown()
                throw RunningMonitor.Failure(description: "the monitor did not get ready on port \(port): \(Self.log(in: directory))")
            }
        }
        fatalError("unreachable: the last attempt returns or throws")
    }

    private static func log(in directory: String) -> String {
        (try? String(contentsOfFile: directory + "/monitor.log", encoding: .utf8)) ?? ""
    }

    private static func get(_ path: String, port: Int, token: String?, headers: [(name: String, value: String)] = [], client: HTTPClient) async throws -> HTTPResponse {
        var request = HTTPRequest(url: "http://127.0.0.1:\(port)\(path)", timeout: 30, responseBody: .collect(limit: 64 << 20))
        request.headers = headers + (token.map { [("Authorization", "Bearer \($0)")] } ?? [])
        return try await client.execute(request)
    }

    var log: String { Self.log(in: directory) }

    func get(_ path: String, token: String? = nil, headers: [(name: String, value: String)] = []) async throws -> HTTPResponse {
        try await Self.get(path, port: port, token: token, headers: headers, client: client)
    }

    func stop() {
        process.signal(SIGTERM)
        _ = process.wait()
        client.shutdown()
    }
}

extension HTTPResponse {
    var text: String { String(decoding: body, as: UTF8.self) }
}

@Suite struct HTTPFaceIntegrationTests {
    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Binary.path), "build first: swift build")
    }

    static let config = """
        settings: {state_dir: DIR/state, http: {listen: "127.0.0.1:PORT"}}
        checks:
          filewrite:
            probe: {file: DIR/probe.txt, sleep: 1}
          hostport:
            closed: {host: 127.0.0.1, port: 1, sleep: 1}
        notifiers:
          console: {report: failure}
        """

    /// A real Prometheus server scrapes `/metrics`; the test asks it, through its HTTP API, for
    /// `healthmonitor_check_up`; `promtool check metrics` finds nothing to lint.
    @Test(.enabled(if: Prometheus.path != nil || TestServers.required, "needs prometheus and promtool (Debian: apt-get install prometheus)"))
    func aRealPrometheusScrapesTheMetrics() async throws {
        let prometheus = try #require(Prometheus.path, "prometheus is not on PATH although HM_SERVICES=1: apt-get install prometheus")
        let monitor = try await RunningMonitor(config: Self.config)
        defer { monitor.stop() }
        // Two results of each check before the first scrape.
        try await Task.sleep(for: .seconds(2.5))
        let metrics = try await monitor.get("/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = metrics.text
        for line in [
            #"healthmonitor_check_up{check="filewrite",label="probe"} 1"#, #"healthmonitor_check_up{check="hostport",label="closed"} 0"#,
            "# TYPE healthmonitor_check_duration_seconds histogram", "# TYPE healthmonitor_scheduler_lag_seconds histogram",
            #"healthmonitor_notifier_delivered_total{notifier="console"}"#, "# TYPE process_cpu_seconds_total counter",
            "# HELP healthmonitor_check_up ",
        ] {
            #expect(text.contains(line), "\(line)")
        }
        let results = text.split(separator: "\n").first { $0.hasPrefix(#"healthmonitor_check_results_total{check="hostport",label="closed",status="failure"}"#) }
        #expect((results?.split(separator: " ").last.flatMap { Int($0) } ?? 0) >= 2, "\(results ?? "none")")
        // promtool lints the exposition.
        try text.write(toFile: monitor.directory + "/metrics.txt", atomically: true, encoding: .utf8)
        let lint = try await Prometheus.run("/bin/sh", ["-c", "promtool check metrics < \(monitor.directory)/metrics.txt"])
        #expect(lint.status == 0, "promtool: \(lint.stdout)\(lint.stderr)")
        #expect(lint.stdout.isEmpty && lint.stderr.isEmpty, "promtool: \(lint.stdout)\(lint.stderr)")

        // Prometheus itself, scraping every second.
        let webPort = try SilentListener.listenPort()
        try """
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        scrape_configs:
          - job_name: healthmonitor
            static_configs: [{targets: ["127.0.0.1:\(monitor.port)"]}]
        """.write(toFile: monitor.directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let server = try ChildProcess(
            prometheus,
            [
                "--config.file=\(monitor.directory)/prometheus.yml", "--storage.tsdb.path=\(monitor.directory)/tsdb",
                "--web.listen-address=127.0.0.1:\(webPort)",
            ], output: monitor.directory + "/prometheus.log", errorsToOutput: true)
        defer {
            server.signal(SIGTERM)
            _ = server.wait()
        }
        var answer: [String: String] = [:]
        let deadline = MonotonicClock().seconds() + 60
        while MonotonicClock().seconds() < deadline && answer.count < 2 {
            try await Task.sleep(for: .milliseconds(500))
            guard
                let response = try? await monitor.client.execute(
                    HTTPRequest(url: "http://127.0.0.1:\(webPort)/api/v1/query?query=healthmonitor_check_up", timeout: 5)),
                response.status == 200, let json = try? JSONValue.parse(response.text)
            else { continue }
            for series in json.objectValue?["data"]?.objectValue?["result"]?.arrayValue ?? [] {
                guard let labels = series.objectValue?["metric"]?.objectValue, let value = series.objectValue?["value"]?.arrayValue, value.count == 2
                else { continue }
                answer["\(labels["check"]?.stringValue ?? "")/\(labels["label"]?.stringValue ?? "")"] = value[1].stringValue
            }
        }
        #expect(answer == ["filewrite/probe": "1", "hostport/closed": "0"], "prometheus log: \((try? String(contentsOfFile: monitor.directory + "/prometheus.log", encoding: .utf8))?.suffix(2000) ?? "")")
    }

    /// `/healthz` and `/readyz` answer; with a token file, every route but `/healthz` needs the
    /// bearer token, and a wrong one is refused without saying why beyond that.
    @Test func healthAndTheBearerToken() async throws {
        let token = "s3cr3t-t0ken-\(ResultID.next().suffix(12))"
        let directory = scratchDirectory()
        try (token + "\n").write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        let monitor = try await RunningMonitor(
            config: Self.config.replacingOccurrences(of: "http: {listen: \"127.0.0.1:PORT\"}", with: "http: {listen: \"127.0.0.1:PORT\", token_file: \(directory)/token}"),
            token: token)
        defer { monitor.stop() }
        let health = try await monitor.get("/healthz")
        #expect(health.status == 200 && health.text.hasPrefix("healthy"), "\(health.status) \(health.text)")
        // Every response names the server and carries RFC 9110's Date, of now.
        #expect(health.header("Server") == "healthmonitor")
        let now = Int64(WallClock.nowMillis())
        let dates = [now - 2000, now - 1000, now, now + 1000].map { WallClock.internetDate(millis: $0) }
        #expect(dates.contains(health.header("Date") ?? "-"), "Date: \(health.header("Date") ?? "-") against \(dates)")
        for path in ["/metrics", "/readyz", "/", "/api/v1/checks"] {
            #expect(try await monitor.get(path).status == 401, "\(path) without a token")
            #expect(try await monitor.get(path, headers: [("Authorization", "Bearer wrong-\(token)")]).status == 401, "\(path) with a wrong token")
            #expect(try await monitor.get(path, headers: [("Authorization", "Bearer " + token.dropLast())]).status == 401, "\(path) with a prefix")
        }
        let metrics = try await monitor.get("/metrics", token: token)
        #expect(metrics.status == 200)
        #expect(try await monitor.get("/readyz", token: token).text == "ready\n")
        #expect(!monitor.log.contains(token), "the token is not logged")
    }
}

extension HTTPFaceIntegrationTests {
    /// Every JSON response the API serves, good and bad requests alike, matches
    /// docs/openapi.yaml; and the numbers are the report's.
    @Test func theAPIAnswersAsItsOpenAPIDocumentSays() async throws {
        let schema = try OpenAPISchema(path: Binary.repository.appendingPathComponent("docs/openapi.yaml").path)
        let monitor = try await RunningMonitor(config: Self.config)
        defer { monitor.stop() }
        // A few results of each check, written to the history (the recorder writes every 2 s):
        // until the closed port's history holds 3, within 30 s.
        for _ in 0..<300 {
            let probe = try await monitor.get("/api/v1/checks/hostport/closed/history?since=1h")
            if probe.status == 200, (try? JSONValue.parse(probe.text))?.objectValue?["raw_results"]?.arrayValue?.count ?? 0 >= 3 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let history = "/api/v1/checks/{type}/{label}/history"
        let cases: [(request: String, template: String, status: Int)] = [
            ("/api/v1/checks", "/api/v1/checks", 200),
            ("/api/v1/checks/hostport/closed/history?since=1h", history, 200),
            ("/api/v1/checks/filewrite/probe/history", history, 200),
            ("/api/v1/checks/ping/nowhere/history", history, 404),
            ("/api/v1/checks/hostport/closed/history?since=yesterday", history, 400),
            ("/api/v1/checks/hostport/closed/history?since=1h&until=2h", history, 400),
            ("/api/v1/report?since=1h", "/api/v1/report", 200),
            ("/api/v1/report?since=1h&check=hostport/closed", "/api/v1/report", 200),
            ("/api/v1/report?check=ping/nowhere", "/api/v1/report", 404),
            ("/api/v1/report?until=soon", "/api/v1/report", 400),
        ]
        var bodies: [String: JSONValue] = [:]
        for (request, template, status) in cases {
            let response = try await monitor.get(request)
            #expect(response.status == status, "\(request): \(response.status) \(response.text)")
            #expect(response.header("Content-Type") == "application/json", "\(request)")
            let value = try JSONValue.parse(response.text)
            let problems = try schema.violations(of: value, against: try schema.responseSchema(path: template, status: status))
            #expect(problems.isEmpty, "\(request): \(problems)")
            bodies[request] = value
        }
        // The numbers: the closed port fails every run, the file write never does.
        let checks = (bodies["/api/v1/checks"]?.objectValue?["checks"]?.arrayValue ?? []).compactMap(\.objectValue)
        #expect(checks.map { $0["key"]?.stringValue } == ["filewrite/probe", "hostport/closed"])
        #expect(checks.map { $0["status"]?.stringValue } == ["success", "failure"])
        #expect(checks.last?["uptime"]?.objectValue?["24h"] == .double(0))
        #expect(checks.first?["uptime"]?.objectValue?["90d"] == .double(1))
        #expect(checks.first?["response_time_ms"]?.doubleValue != nil)
        let closed = try #require(bodies["/api/v1/checks/hostport/closed/history?since=1h"]?.objectValue)
        let raw = closed["raw_results"]?.arrayValue ?? []
        #expect(closed["results"]?.doubleValue.map(Int.init) == raw.count && raw.count >= 3)
        #expect(raw.allSatisfy { $0.objectValue?["status"] == "failure" })
        #expect(closed["incidents"]?.arrayValue?.count == 1)
        let filtered = bodies["/api/v1/report?since=1h&check=hostport/closed"]?.objectValue?["checks"]?.arrayValue ?? []
        #expect(filtered.count == 1 && filtered.first?.objectValue?["failures"] == filtered.first?.objectValue?["results"])
        // The schema check fails on what breaks it (it is not a check that cannot fail).
        let broken: JSONValue = ["history": true, "checks": [["check": "x"]]]
        #expect(try !schema.violations(of: broken, against: try schema.responseSchema(path: "/api/v1/checks", status: 200)).isEmpty)
    }
}

extension HTTPFaceIntegrationTests {
    /// With cert_file and key_file the face speaks HTTPS only: a client trusting the
    /// certificate gets the API, plain HTTP gets nothing.
    @Test func httpsWithACertificateAndKey() async throws {
        let directory = scratchDirectory()
        let made = try await Prometheus.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
                "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ])
        #expect(made.status == 0, "\(made.stderr)")
        let config = Self.config.replacingOccurrences(
            of: "http: {listen: \"127.0.0.1:PORT\"}",
            with: "http: {listen: \"127.0.0.1:PORT\", cert_file: \(directory)/cert.pem, key_file: \(directory)/key.pem}")
        let port = try SilentListener.listenPort()
        try config.replacingOccurrences(of: "PORT", with: "\(port)").replacingOccurrences(of: "DIR", with: directory)
            .write(toFile: directory + "/c.yml", atomically: true, encoding: .utf8)
        let process = try ChildProcess(Binary.path, ["run", "--config", directory + "/c.yml"], output: directory + "/monitor.log", errorsToOutput: true)
        defer {
            process.signal(SIGTERM)
            _ = process.wait()
        }
        let client = HTTPClient(name: "https-test")
        defer { client.shutdown() }
        var answer: HTTPResponse?
        let deadline = MonotonicClock().seconds() + 60
        while MonotonicClock().seconds() < deadline {
            answer = try? await client.execute(HTTPRequest(url: "https://127.0.0.1:\(port)/readyz", timeout: 5, caFile: directory + "/cert.pem"))
            if answer?.status == 200 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(answer?.status == 200, "\((try? String(contentsOfFile: directory + "/monitor.log", encoding: .utf8)) ?? "")")
        let checks = try await client.execute(HTTPRequest(url: "https://127.0.0.1:\(port)/api/v1/checks", caFile: directory + "/cert.pem"))
        #expect(checks.status == 200 && checks.text.contains("hostport/closed"))
        let plain = try? await client.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/readyz", timeout: 5))
        #expect(plain == nil || plain?.status != 200, "plain HTTP is not served")
        // Without trusting the certificate, the client refuses the server.
        await #expect(throws: HTTPError.self) { try await client.execute(HTTPRequest(url: "https://127.0.0.1:\(port)/readyz", timeout: 5)) }
    }

    /// A certificate that does not load, or a token too short: the monitor refuses to start
    /// with one line naming the setting.
    @Test func badHTTPSettingsAreStartUpErrors() async throws {
        let directory = scratchDirectory()
        for (http, message) in [
            ("{listen: \"127.0.0.1:1\", cert_file: \(directory)/none.pem, key_file: \(directory)/none.pem}", "settings.http: cannot load cert_file \(directory)/none.pem"),
            ("{listen: \"127.0.0.1:1\", token: short}", "settings.http.token: expected one token of at least 16 characters"),
            ("{listen: \"localhost\"}", "settings.http.listen: found \"localhost\", expected HOST:PORT"),
            ("{listen: \"127.0.0.1:1\", cert_file: \(directory)/cert.pem}", "cert_file and key_file go together"),
        ] {
            try "settings: {state_dir: \(directory)/state, http: \(http)}\nchecks: {random: {a: {}}}\nnotifiers: {console: {}}\n"
                .write(toFile: directory + "/c.yml", atomically: true, encoding: .utf8)
            let run = try await Binary.run(["run", "--config", directory + "/c.yml"], directory: directory)
            #expect(run.status == 2, "\(http): \(run.stderr)")
            #expect(run.stderr.contains(message), "\(http): \(run.stderr)")
        }
    }
}

/// The Prometheus server and promtool from Debian's `prometheus` package.
enum Prometheus {
    static let path: String? = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func run(_ executable: String, _ arguments: [String]) async throws -> Binary.Output {
        let directory = scratchDirectory()
        let process = try ChildProcess(executable, arguments, output: directory + "/out", errorOutput: directory + "/err")
        let status = await process.exitStatus()
        return Binary.Output(
            status: status, stdout: (try? String(contentsOfFile: directory + "/out", encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: directory + "/err", encoding: .utf8)) ?? "")
    }
}
