import Testing

@testable import Monitor

@Suite struct DownloadCheckTests {
    typealias Expectation = DownloadCheck.StatusExpectation

    @Test(arguments: [
        (["200"], [200], [201, 302, 404]),
        (["2xx"], [200, 204, 299], [199, 300, 404]),
        (["200", "304"], [200, 304], [204, 302]),
        (["2xx", "404"], [201, 404], [302, 500]),
        (["3XX"], [301, 302], [200]),
    ])
    func expectStatusAcceptsCodesAndClasses(items: [String], accepted: [Int], rejected: [Int]) throws {
        let expectation = try #require(Expectation(items))
        #expect(accepted.allSatisfy(expectation.accepts))
        #expect(!rejected.contains(where: expectation.accepts))
    }

    @Test func defaultAcceptsAny2xx() {
        let expectation = Expectation()
        #expect(expectation.accepts(200) && expectation.accepts(204))
        #expect(!expectation.accepts(302) && !expectation.accepts(404))
        #expect(expectation.description == "2xx")
        #expect(Expectation(["2xx", "304"])?.description == "2xx or 304")
    }

    @Test(arguments: [["abc"], ["99"], ["600"], ["6xx"], ["2x"], []])
    func expectStatusRejectsNonsense(items: [String]) {
        #expect(Expectation(items) == nil)
    }

    @Test func optionsBecomeTheRequest() throws {
        let check = try DownloadCheck(
            options: Options([
                "url": "https://example.org/file.iso?token=abc", "headers": ["X-B": "2", "X-A": "1"], "ssl": false,
                "timeout": 7.5, "follow_redirects": false, "expect_status": ["200", "206"], "max_bytes": 1000,
            ]))
        let r = check.request
        #expect(r.url == "https://example.org/file.iso?token=abc")
        #expect(r.headers.map(\.name) == ["X-A", "X-B"])
        #expect(r.headers.map(\.value) == ["1", "2"])
        #expect(!r.verifyTLS)
        #expect(r.timeout == 7.5)
        #expect(!r.followRedirects)
        #expect(r.maxBytes == 1000)
        #expect(r.responseBody == .discard)
        #expect(r.freshConnection)
        #expect(check.expected == Expectation(codes: [200, 206], classes: []))
    }

    @Test func defaultsFollowTheReference() throws {
        let check = try DownloadCheck(options: Options(["url": "http://example.org/"]))
        #expect(check.request.verifyTLS)
        #expect(check.request.followRedirects)
        #expect(check.request.timeout == 30)
        #expect(check.request.maxBytes == nil)
        #expect(check.expected == Expectation())
        #expect(DownloadCheck.kind.options.first { $0.name == "timeout" }?.defaultValue == 30)
        #expect(CheckKinds.all.contains { $0.name == "download" })
    }

    @Test(arguments: ["ftp://example.org/x", "example.org/x", "http://", "file:///etc/passwd"])
    func badURLIsAConfigError(url: String) {
        #expect(throws: ConfigDiagnostic.self) { try DownloadCheck(options: Options(["url": .string(url)], path: "checks.download.x")) }
    }

    @Test func badExpectStatusIsAConfigErrorNamingTheKey() {
        do {
            _ = try DownloadCheck(options: Options(["url": "http://h/", "expect_status": ["ok"]], path: "checks.download.x"))
            Issue.record("expect_status: ok accepted")
        } catch {
            #expect(error.path == "checks.download.x.expect_status")
        }
    }

    @Test func measurementHasEveryFieldInItsUnit() {
        let response = HTTPResponse(
            status: 200, bodyBytes: 2_500_000,
            timings: HTTPTimings(
                nameLookupMicros: 1_000, connectMicros: 1_250, appConnectMicros: 3_250, startTransferMicros: 5_000,
                totalMicros: 2_000_000))
        let m = DownloadCheck.measurement(response)
        #expect(m["bytes"] == .int(2_500_000))
        #expect(m["time"] == .double(2))
        #expect(m["speed"] == .double(10))  // 2.5 MB in 2 s = 10 Mbit/s
        #expect(m["status"] == .int(200))
        #expect(m["dns_ms"] == .double(1))
        #expect(m["connect_ms"] == .double(0.25))
        #expect(m["tls_ms"] == .double(2))
        #expect(m["ttfb_ms"] == .double(5))
        #expect(m["total_ms"] == .double(2000))
        #expect(m["redirect_ms"] == .double(0))
        #expect(m["redirects"] == .int(0))
        #expect(m.count == 11)
    }

    /// libcurl sums each hop's phases; the final hop's own are the sums minus those at the last
    /// redirect (here a plain-HTTP hop, then an https one on a new connection).
    @Test func theFinalHopsPhasesAfterARedirect() {
        let base = HTTPTimings(nameLookupMicros: 500, connectMicros: 900, appConnectMicros: 0, startTransferMicros: 2_000, totalMicros: 2_100)
        let sums = HTTPTimings(
            nameLookupMicros: 1_000, connectMicros: 1_700, appConnectMicros: 4_700, startTransferMicros: 8_000, totalMicros: 9_000,
            redirectMicros: 2_300)
        let final = sums.finalHop(after: base)
        #expect(final.dnsMs == 0.5)
        #expect(final.connectMs == 0.3)  // 0.8 ms from the hop's start, 0.5 ms of it DNS
        #expect(final.tlsMs == 3.9)  // appconnect 4.7 ms from the hop's start, connect 0.8 ms
        #expect(final.ttfbMs == 6)
        #expect(final.totalMs == 9)
        #expect(final.redirectMs == 2.3)
    }
}

/// What `download` makes of a response: body and JSON assertions, then the certificate.
@Suite struct DownloadCheckContentTests {
    static func check(_ options: [String: JSONValue]) throws -> DownloadCheck {
        var values: [String: JSONValue] = ["url": "https://status.example.org/healthz?token=abc"]
        values.merge(options) { $1 }
        return try DownloadCheck(options: Options(values, path: "checks.download.t"))
    }

    static func response(_ body: String, matched: Bool? = nil, status: Int = 200, tls: TLSDetails? = nil) -> HTTPResponse {
        var response = HTTPResponse(status: status, body: Array(body.utf8), bodyBytes: Int64(body.utf8.count))
        response.bodyMatched = matched
        response.bodyPreview = Array(body.utf8.prefix(BodyScanner.previewBytes))
        response.tls = tls
        return response
    }

    @Test func anErrorPageNoLongerPasses() throws {
        let check = try Self.check(["expect_body": "healthy"])
        let outcome = check.outcome(.success(Self.response("<html>Internal error: password=hunter2</html>", matched: false)))
        #expect(outcome.status == .failure)
        #expect(outcome.message == #"Failed to download the file: body from status.example.org does not contain "healthy"; found "<html>Internal error: password=********</html>""#)
        #expect(check.outcome(.success(Self.response("healthy", matched: true))).status == .success)
        let empty = check.outcome(.success(Self.response("", matched: false)))
        #expect(empty.message == #"Failed to download the file: body from status.example.org does not contain "healthy"; the body is empty"#)
    }

    @Test func jsonAssertionsAllSayWhatFailed() throws {
        let check = try Self.check([
            "expect_json": [["path": "$.status", "equals": "ok"], ["path": "$.db.connected", "exists": "true"], ["path": "$.n", "<": "10"]],
        ])
        let passing = check.outcome(.success(Self.response(#"{"status":"ok","db":{"connected":true},"n":3}"#)))
        #expect(passing.status == .success)
        let failing = check.outcome(.success(Self.response(#"{"status":"degraded","db":{},"n":3}"#)))
        #expect(failing.message == #"Failed to download the file: JSON from status.example.org: $.status is "degraded", expected "ok"; $.db.connected is missing, expected it to exist"#)
        let html = check.outcome(.success(Self.response("<html>oops</html>")))
        #expect(html.message == #"Failed to download the file: body from status.example.org is not JSON (invalid JSON at byte 0: unexpected character '<'); found "<html>oops</html>""#)
    }

    @Test func aJSONBodyOverTheLimitFailsClearly() throws {
        let check = try Self.check(["expect_json": [["path": "$.a", "exists": "true"]], "json_max_bytes": 10])
        #expect(check.request.responseBody == .collect(limit: 10))
        var response = Self.response(#"{"a":"0123456789"}"#)
        response.body = Array(response.body.prefix(10))
        let outcome = check.outcome(.success(response))
        #expect(outcome.message == "Failed to download the file: body from status.example.org is more than 10 bytes (json_max_bytes), too large to read as JSON")
    }

    @Test func theCertificateIsMeasuredAndMustOutliveMinCertDays() throws {
        let now = 1_800_000_000.0
        let tls = TLSDetails(
            version: "TLSv1.3", chain: [.init(subject: "CN = status.example.org", issuer: "CN = R11", notAfter: Int64(now + 5 * 86_400 + 60))])
        let check = try Self.check([:])
        let outcome = check.outcome(.success(Self.response("ok", tls: tls)), nowSeconds: now)
        #expect(outcome.message == "Failed to download the file: certificate for status.example.org expires in 5 days (on 2027-01-20)")
        #expect(outcome.measurement["cert_expires_days"] == .double(5))
        #expect(outcome.measurement["tls_version"] == "TLSv1.3")
        let relaxed = try Self.check(["min_cert_days": 2]).outcome(.success(Self.response("ok", tls: tls)), nowSeconds: now)
        #expect(relaxed.status == .success)
        #expect(relaxed.message.hasSuffix("(0 Mbit/s, HTTP 200, certificate valid for 5 days)"))
        #expect(relaxed.measurement["cert_subject"] == "CN = status.example.org")
    }

    @Test func aFailedVerificationIsNamed() throws {
        let error = HTTPError(kind: .tls, method: "GET", host: "status.example.org", detail: "SSL certificate problem: certificate has expired")
        let outcome = try Self.check([:]).outcome(.failure(error))
        #expect(outcome.message == "Failed to download the file: certificate for status.example.org has expired (SSL certificate problem: certificate has expired)")
    }
}
