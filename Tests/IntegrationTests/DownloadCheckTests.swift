import Foundation
import Testing

@testable import Monitor

/// The `download` check against real local HTTP(S) servers started by each test.
@Suite struct DownloadCheckTests {
    static func check(_ options: [String: JSONValue]) throws -> DownloadCheck {
        try DownloadCheck(options: Options(options, path: "checks.download.test"))
    }

    static let timingKeys = ["dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "total_ms"]

    @Test func downloadsAKnownByteCount() async throws {
        try await LocalHTTPServer.with { server in
            let outcome = try await Self.check(["url": .string(server.base + "/bytes/1000000")]).run()
            #expect(outcome.status == .success)
            #expect(outcome.message.hasPrefix("Finished download 1000000 bytes in "))
            #expect(outcome.message.hasSuffix("Mbit/s, HTTP 200)"))
            let m = outcome.measurement
            #expect(m["bytes"] == .int(1_000_000))
            #expect(m["status"] == .int(200))
            #expect((m["speed"]?.doubleValue ?? 0) > 0)
            #expect((m["time"]?.doubleValue ?? 0) > 0)
            #expect(Self.timingKeys.allSatisfy { m[$0]?.doubleValue != nil })
            // A fresh connection each run: the TCP connect is measured (non-zero), no TLS on http.
            #expect((m["connect_ms"]?.doubleValue ?? 0) > 0)
            #expect(m["tls_ms"] == .double(0))
            #expect((m["ttfb_ms"]?.doubleValue ?? 0) <= (m["total_ms"]?.doubleValue ?? 0))
        }
    }

    /// As the scheduler runs it: without a task (`.later`), ended on the HTTP client's thread,
    /// with the same message and measurements as `run()`, success and failure alike.
    @Test func aTransferEndsOnTheClientsThread() async throws {
        try await LocalHTTPServer.with { server in
            let started = try Self.check(["url": .string(server.base + "/bytes/4321")]).start()
            guard case .later = started else {
                Issue.record("a download must go on without a task")
                return
            }
            let outcome = await started.outcome()
            #expect(outcome.status == .success)
            #expect(outcome.message.hasPrefix("Finished download 4321 bytes in "))
            #expect(outcome.measurement["bytes"] == .int(4321) && outcome.measurement["status"] == .int(200))
            #expect(Self.timingKeys.allSatisfy { outcome.measurement[$0]?.doubleValue != nil })

            let missing = try await Self.check(["url": .string(server.base + "/status/404")]).start().outcome()
            #expect(missing.message == "Failed to download the file: HTTP 404 from 127.0.0.1 (expected 2xx)")
            #expect(missing.measurement["status"] == .int(404))
        }
    }

    @Test func slowDownloadTimesOutAndReportsBytesAndSpeedSoFar() async throws {
        try await LocalHTTPServer.with { server in
            // A 3 s timeout, not 1: while the integration suites start together, the test
            // server's first byte can take more than a second.
            let outcome = try await Self.check([
                "url": .string(server.base + "/slow/1000000?chunk=20000&delay=0.1"), "timeout": 3,
            ]).run()
            #expect(outcome.status == .failure)
            #expect(outcome.message.hasPrefix("Failed to download the file: timed out after 3 s with "))
            #expect(outcome.message.contains("bytes from 127.0.0.1"))
            // At 200 KB a second: some of the body, far from all of it.
            let bytes = outcome.measurement["bytes"]?.intValue ?? 0
            #expect(bytes >= 60_000 && bytes <= 800_000, "\(bytes) bytes")
            #expect((outcome.measurement["speed"]?.doubleValue ?? 0) > 0)
            #expect(outcome.measurement["status"] == .int(200))
            #expect((outcome.measurement["time"]?.doubleValue ?? 0) >= 2.99)
        }
    }

    @Test func redirectsAreFollowedByDefault() async throws {
        try await LocalHTTPServer.with { server in
            let url = JSONValue.string(server.base + "/redirect/2?to=/bytes/4321")
            let followed = try await Self.check(["url": url]).run()
            #expect(followed.status == .success)
            #expect(followed.measurement["bytes"] == .int(4321))
            #expect(followed.measurement["status"] == .int(200))

            let notFollowed = try await Self.check(["url": url, "follow_redirects": false]).run()
            #expect(notFollowed.status == .failure)
            #expect(notFollowed.message == "Failed to download the file: HTTP 302 from 127.0.0.1 (expected 2xx)")
            #expect(notFollowed.measurement["status"] == .int(302))

            let expected302 = try await Self.check(["url": url, "follow_redirects": false, "expect_status": ["302"]]).run()
            #expect(expected302.status == .success)
        }
    }

    /// An http→https redirect: the phases are the final (https) request's own — libcurl sums
    /// every hop's, which made `tls_ms` and `ttfb_ms` too small or 0 — with the redirect's time
    /// and count beside them.
    @Test func phasesAfterARedirectAreTheFinalRequests() async throws {
        try await LocalHTTPServer.with(tls: true) { secure in
            try await LocalHTTPServer.with { plain in
                let url = JSONValue.string(plain.base + "/redirect/1?to=\(secure.base)/bytes/2000")
                let outcome = try await Self.check(["url": url, "ssl": false]).run()
                #expect(outcome.status == .success, "\(outcome.message)")
                let m = outcome.measurement
                #expect(m["bytes"] == .int(2000))
                #expect(m["redirects"] == .int(1))
                let tls = try #require(m["tls_ms"]?.doubleValue)
                let connect = try #require(m["connect_ms"]?.doubleValue)
                let ttfb = try #require(m["ttfb_ms"]?.doubleValue)
                let redirect = try #require(m["redirect_ms"]?.doubleValue)
                let total = try #require(m["total_ms"]?.doubleValue)
                #expect(tls > 0, "the https hop had a TLS handshake")
                #expect(connect > 0, "a new connection to the https server")
                // The final request's first byte comes after its own TLS handshake ended.
                #expect(ttfb >= tls + connect, "ttfb \(ttfb) ms, tls \(tls) ms, connect \(connect) ms")
                #expect(redirect > 0 && redirect < total)
                // The final hop and the redirect before it fit in the whole transfer.
                #expect(redirect + ttfb <= total + 0.5, "redirect \(redirect) + ttfb \(ttfb) vs total \(total)")

                let direct = try await Self.check(["url": .string(secure.base + "/bytes/2000"), "ssl": false]).run()
                #expect(direct.measurement["redirects"] == .int(0))
                #expect(direct.measurement["redirect_ms"] == .double(0))
            }
        }
    }

    @Test(arguments: [404, 500])
    func errorStatusIsAFailure(status: Int) async throws {
        try await LocalHTTPServer.with { server in
            let url = JSONValue.string(server.base + "/status/\(status)")
            let outcome = try await Self.check(["url": url]).run()
            #expect(outcome.status == .failure)
            #expect(outcome.message == "Failed to download the file: HTTP \(status) from 127.0.0.1 (expected 2xx)")
            #expect(outcome.measurement["status"] == .int(status))
            #expect(outcome.measurement["bytes"] == .int("status \(status) body".utf8.count))

            let expected = try await Self.check(["url": url, "expect_status": .string(String(status))]).run()
            #expect(expected.status == .success)
        }
    }

    @Test func selfSignedCertificateFailsUnlessSSLIsOff() async throws {
        try await LocalHTTPServer.with(tls: true) { server in
            let url = JSONValue.string(server.base + "/bytes/65536")
            let verified = try await Self.check(["url": url]).run()
            #expect(verified.status == .failure)
            #expect(verified.message.hasPrefix("Failed to download the file: certificate for localhost is self-signed, not trusted"))
            #expect(verified.measurement["bytes"] == .int(0))

            let unverified = try await Self.check(["url": url, "ssl": false]).run()
            #expect(unverified.status == .success)
            #expect(unverified.measurement["bytes"] == .int(65536))
            #expect((unverified.measurement["tls_ms"]?.doubleValue ?? 0) > 0)
        }
    }

    @Test func maxBytesStopsEarlyAsASuccess() async throws {
        try await LocalHTTPServer.with { server in
            let outcome = try await Self.check([
                "url": .string(server.base + "/bytes/100000000"), "max_bytes": 2_000_000,
            ]).run()
            #expect(outcome.status == .success)
            #expect(outcome.measurement["bytes"] == .int(2_000_000))
            #expect(outcome.message.contains("stopped at max_bytes"))
        }
    }

    @Test func sendsTheConfiguredHeaders() async throws {
        try await LocalHTTPServer.with { server in
            let outcome = try await Self.check([
                "url": .string(server.base + "/hook/ok/download"), "headers": ["Authorization": "Bearer T0KEN", "X-Extra": "1"],
            ]).run()
            #expect(outcome.status == .success)
            let recorded = try await HTTPClientRetryTests.recorded(server, "/hook/ok/download")
            let headers = try #require(recorded.first?["headers"] as? [String: String])
            #expect(headers["Authorization"] == "Bearer T0KEN")
            #expect(headers["X-Extra"] == "1")
            #expect(recorded.first?["method"] as? String == "GET")
        }
    }

    @Test func refusedConnectionIsAFailureNamingTheHostOnly() async throws {
        let port = try HTTPClientTests.closedPort()
        let outcome = try await Self.check(["url": .string("http://127.0.0.1:\(port)/secret-path?token=XYZ")]).run()
        #expect(outcome.status == .failure)
        #expect(outcome.message.hasPrefix("Failed to download the file: cannot connect (127.0.0.1)"))
        #expect(!outcome.message.contains("XYZ") && !outcome.message.contains("secret-path"))
        #expect(outcome.measurement["bytes"] == .int(0))
        #expect(outcome.measurement["speed"] == .double(0))
    }

    @Test func configuredThroughTheLoaderWithSecretsMasked() throws {
        let yaml = """
            checks:
              download:
                site:
                  url: https://example.org/big.iso
                  headers: {Authorization: Bearer SECRET}
                  expect_status: [200, 206]
                  max_bytes: 1000
            notifiers: {}
            """
        let loader = ConfigLoader(checkKinds: CheckKinds.all, notifierKinds: [], environment: [:])
        let config = try loader.load([ConfigSource(section: .whole, name: "test.yml", text: yaml)])
        let check = try #require(config.checks.first)
        #expect(check.type == "download")
        #expect(check.options.int("max_bytes") == 1000)
        #expect(!"\(check.maskedConfig)".contains("SECRET"))
    }
}

/// `download`'s content assertions and methods against the local test server.
@Suite struct DownloadContentTests {
    static func check(_ server: LocalHTTPServer, _ path: String, _ extra: [String: JSONValue] = [:]) throws -> DownloadCheck {
        var options: [String: JSONValue] = ["url": .string(server.base + path)]
        options.merge(extra) { $1 }
        return try DownloadCheck(options: Options(options, path: "checks.download.t"))
    }

    /// Clowder answers `GET /healthz` with `healthy`; a 200 with an error page fails, and says
    /// what it found, masked.
    @Test func expectBodyTellsTheServiceFromTheServer() async throws {
        try await LocalHTTPServer.with { server in
            let healthy = try await Self.check(server, "/healthz", ["expect_body": "healthy"]).run()
            #expect(healthy.status == .success, "\(healthy.message)")
            let errorPage = try await Self.check(server, "/errorpage", ["expect_body": "healthy"]).run()
            #expect(errorPage.status == .failure)
            #expect(errorPage.message == #"Failed to download the file: body from 127.0.0.1 does not contain "healthy"; found "<html><body>Internal error: password=******** at https://app:********@db.example/x</bod…""#)
            let regex = try await Self.check(server, "/healthz", ["expect_body": ["regex": "^heal+thy$"]]).run()
            #expect(regex.status == .success, "\(regex.message)")
        }
    }

    /// The text is found in a 20 MB body sent in 1 MiB writes, across a write boundary, and
    /// beyond `max_bytes` it is not looked for.
    @Test func expectBodyStreamsThroughALargeBody() async throws {
        try await LocalHTTPServer.with { server in
            let boundary = 7 * 1024 * 1024 - 3
            let found = try await Self.check(server, "/haystack/20000000?word=ALLGOOD&at=\(boundary)", ["expect_body": "ALLGOOD"]).run()
            #expect(found.status == .success, "\(found.message)")
            #expect(found.measurement["bytes"] == 20_000_000)
            let regex = try await Self.check(server, "/haystack/20000000?word=ALLGOOD&at=\(boundary)", ["expect_body": ["regex": "ALL(GOOD|FINE)"]]).run()
            #expect(regex.status == .success, "\(regex.message)")
            let cut = try await Self.check(server, "/haystack/20000000?word=ALLGOOD&at=\(boundary)", ["expect_body": "ALLGOOD", "max_bytes": 1_000_000]).run()
            #expect(cut.message == #"Failed to download the file: body from 127.0.0.1 does not contain "ALLGOOD" in its first 1000000 bytes (max_bytes); found "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…""#)
        }
    }

    @Test func expectJSONChecksValuesAndSaysWhichFailed() async throws {
        try await LocalHTTPServer.with { server in
            let ok = try await Self.check(server, "/json", [
                "expect_json": [["path": "$.status", "equals": "ok"], ["path": "$.db.latency_ms", "<": "100"], ["path": "$.queue[-1]", "equals": "6"]],
            ]).run()
            #expect(ok.status == .success, "\(ok.message)")
            let bad = try await Self.check(server, "/json", [
                "expect_json": [["path": "$.version", "matches": "^3\\."], ["path": "$.token", "equals": "x"], ["path": "$.db.latency_ms", ">": "50"]],
            ]).run()
            #expect(bad.message == #"Failed to download the file: JSON from 127.0.0.1: $.version is "2.4.1", expected to match ^3\.; $.token is ********, expected "x"; $.db.latency_ms is 12.5, expected > 50"#)
            let notJSON = try await Self.check(server, "/healthz", ["expect_json": [["path": "$.status", "equals": "ok"]]]).run()
            #expect(notJSON.message.hasPrefix("Failed to download the file: body from 127.0.0.1 is not JSON (invalid JSON at byte 0"))
            #expect(notJSON.message.hasSuffix(#"; found "healthy""#))
            let tooLarge = try await Self.check(server, "/bytes/5000", ["expect_json": [["path": "$.a", "exists": "true"]], "json_max_bytes": 4096]).run()
            #expect(tooLarge.message == "Failed to download the file: body from 127.0.0.1 is more than 4096 bytes (json_max_bytes), too large to read as JSON")
            #expect(tooLarge.measurement["bytes"] == 5000)
        }
    }

    /// POST and PUT send their body (from `body` or `body_file`); HEAD reads none.
    @Test func methodsAndBodies() async throws {
        try await LocalHTTPServer.with { server in
            let post = try await Self.check(server, "/echo", [
                "method": "post", "body": #"{"status":"ok","n":3}"#, "headers": ["Content-Type": "application/json"],
                "expect_json": [["path": "$.n", "equals": "3"]],
            ]).run()
            #expect(post.status == .success, "\(post.message)")
            let directory = try LocalHTTPServer.makeTemporaryDirectory()
            defer { _ = try? LocalHTTPServer.run(["/bin/rm", "-rf", directory]) }
            try LocalHTTPServer.writeFile(directory + "/body.txt", "put-me-there")
            let put = try await Self.check(server, "/echo", ["method": "put", "body_file": .string(directory + "/body.txt"), "expect_body": "put-me-there"]).run()
            #expect(put.status == .success, "\(put.message)")
            #expect(put.measurement["bytes"] == 12)
            let head = try await Self.check(server, "/bytes/5000", ["method": "head"]).run()
            #expect(head.status == .success && head.measurement["bytes"] == 0)
            // What the server saw.
            _ = try await Self.check(server, "/hook/ok/put", ["method": "put", "body": "a=1"]).run()
            let seen = try await HTTPClient.shared.execute(HTTPRequest(url: server.base + "/_requests?prefix=/hook/ok/put"))
            let records = try JSONValue.parse(seen.bodyText).arrayValue ?? []
            #expect(records.count == 1)
            #expect(records.first?.objectValue?["method"] == "PUT" && records.first?.objectValue?["body"] == "a=1")
        }
    }
}
