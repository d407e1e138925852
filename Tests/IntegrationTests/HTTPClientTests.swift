import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import Monitor

/// The libcurl client against real local HTTP(S) servers started by each test.
@Suite struct HTTPClientTests {
    let client = HTTPClient.shared

    @Test func countsAKnownNumberOfBytesWithoutKeepingThem() async throws {
        try await LocalHTTPServer.with { server in
            let response = try await client.execute(
                HTTPRequest(url: server.base + "/bytes/1000000", responseBody: .discard))
            #expect(response.status == 200)
            #expect(response.bodyBytes == 1_000_000)
            #expect(response.body.isEmpty)
            #expect(response.header("content-length") == "1000000")
            #expect(response.timings.totalMs > 0)
            #expect(response.timings.ttfbMs <= response.timings.totalMs)
            #expect(response.timings.tlsMs == 0)
        }
    }

    @Test func collectsUpToTheLimitAndCountsTheRest() async throws {
        try await LocalHTTPServer.with { server in
            let response = try await client.execute(
                HTTPRequest(url: server.base + "/bytes/5000", responseBody: .collect(limit: 100)))
            #expect(response.body == [UInt8](repeating: UInt8(ascii: "x"), count: 100))
            #expect(response.bodyBytes == 5000)
        }
    }

    @Test func bodyWithoutContentLengthIsCountedToTheEnd() async throws {
        try await LocalHTTPServer.with { server in
            let response = try await client.execute(
                HTTPRequest(url: server.base + "/bytes/300000?length=0", responseBody: .discard))
            #expect(response.status == 200)
            #expect(response.bodyBytes == 300_000)
        }
    }

    @Test func maxBytesStopsEarlyAndIsASuccess() async throws {
        try await LocalHTTPServer.with { server in
            let response = try await client.execute(
                HTTPRequest(url: server.base + "/bytes/50000000", responseBody: .discard, maxBytes: 1_000_000))
            #expect(response.status == 200)
            #expect(response.bodyBytes == 1_000_000)
            #expect(response.stoppedAtMaxBytes)
            // A body exactly as long as the limit is complete, not stopped.
            let exact = try await client.execute(
                HTTPRequest(url: server.base + "/bytes/1000", responseBody: .discard, maxBytes: 1000))
            #expect(exact.bodyBytes == 1000)
            #expect(!exact.stoppedAtMaxBytes)
        }
    }

    @Test func slowBodyTimesOutWithTheBytesSoFar() async throws {
        try await LocalHTTPServer.with { server in
            do throws(HTTPError) {
                // 3 s, not 1: while the integration suites start together, the test server's
                // first byte has taken more than 1 s (status 0, no bytes: nothing to assert on).
                _ = try await client.execute(
                    HTTPRequest(url: server.base + "/slow/1000000?chunk=10000&delay=0.1", timeout: 3, responseBody: .discard))
                Issue.record("a 10 s body finished within a 3 s timeout")
            } catch {
                #expect(error.kind == .timeout)
                #expect(error.partial.status == 200)
                // At 100 KB a second: some of the body, far from all of it — the 3 s timeout
                // ended it, not the body's end. (No wall-clock bound: with a core kept busy, one
                // run took 8.3 s from the request to the error while its bytes were these.)
                #expect(error.partial.bodyBytes >= 30_000 && error.partial.bodyBytes <= 400_000, "\(error.partial.bodyBytes) bytes")
                #expect(error.partial.timings.totalMs >= 2990)
                #expect(error.curlCode == 28)
            }
        }
    }

    @Test func followsRedirectsWhenAsked() async throws {
        try await LocalHTTPServer.with { server in
            let followed = try await client.execute(
                HTTPRequest(url: server.base + "/redirect/3", followRedirects: true, responseBody: .discard))
            #expect(followed.status == 200)
            #expect(followed.redirects == 3)
            #expect(followed.bodyBytes == 100)

            let notFollowed = try await client.execute(HTTPRequest(url: server.base + "/redirect/3"))
            #expect(notFollowed.status == 302)
            #expect(notFollowed.redirects == 0)
            #expect(notFollowed.header("Location") == "/redirect/2")
            #expect(notFollowed.bodyText == "moved")

            do throws(HTTPError) {
                _ = try await client.execute(
                    HTTPRequest(url: server.base + "/redirect/3", followRedirects: true, maxRedirects: 2))
                Issue.record("3 redirects followed with a limit of 2")
            } catch {
                #expect(error.kind == .tooManyRedirects)
            }
        }
    }

    @Test(arguments: [404, 500])
    func errorStatusesAreResponses(status: Int) async throws {
        try await LocalHTTPServer.with { server in
            let response = try await client.execute(HTTPRequest(url: server.base + "/status/\(status)"))
            #expect(response.status == status)
            #expect(!response.isSuccess)
            #expect(response.bodyText == "status \(status) body")
        }
    }

    @Test func selfSignedCertificateFailsVerificationUnlessTrustedOrUnchecked() async throws {
        try await LocalHTTPServer.with(tls: true) { server in
            let url = server.base + "/bytes/2048"
            do throws(HTTPError) {
                _ = try await client.execute(HTTPRequest(url: url, verifyTLS: true))
                Issue.record("a self-signed certificate passed verification")
            } catch {
                #expect(error.kind == .tls)
                #expect(error.host == "localhost")
                #expect(!error.description.contains("/bytes"))
            }
            let unchecked = try await client.execute(HTTPRequest(url: url, verifyTLS: false, responseBody: .discard))
            #expect(unchecked.status == 200)
            #expect(unchecked.bodyBytes == 2048)
            #expect(unchecked.timings.tlsMs > 0)

            let trusted = try await client.execute(
                HTTPRequest(url: url, verifyTLS: true, caFile: server.certificateFile, responseBody: .discard))
            #expect(trusted.status == 200)
        }
    }

    @Test func refusedConnectionNamesTheHostOnly() async throws {
        let port = try Self.closedPort()
        do throws(HTTPError) {
            _ = try await client.execute(
                HTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)/services/T0/B0/SECRETWEBHOOK", timeout: 5))
            Issue.record("connected to a closed port")
        } catch {
            #expect(error.kind == .connect)
            #expect(error.isRetryable)
            #expect(error.description.hasPrefix("POST 127.0.0.1: cannot connect"))
            #expect(!error.description.contains("SECRETWEBHOOK"))
        }
    }

    @Test func sendsMethodHeadersAndBody() async throws {
        try await LocalHTTPServer.with { server in
            let body = String(repeating: "{\"k\":\"v\"}", count: 500)  // > 1 KiB, where curl would add Expect: 100-continue
            let echoed = try await client.execute(
                HTTPRequest(
                    method: "PUT", url: server.base + "/echo", headers: [("Content-Type", "application/json")],
                    body: Array(body.utf8)))
            #expect(echoed.status == 200)
            #expect(echoed.bodyText == body)
            #expect(echoed.header("X-Method") == "PUT")
            #expect(echoed.header("Content-Type") == "application/json")

            let headers = try await client.execute(
                HTTPRequest(url: server.base + "/headers", headers: [("X-Token", "abc"), ("Accept", "text/plain")]))
            #expect(headers.bodyText.contains(#""X-Token": "abc""#))
            #expect(headers.bodyText.contains(#""Accept": "text/plain""#))

            // No `Expect: 100-continue` (it would stall every large POST by a round trip or a second).
            _ = try await client.execute(.postJSON(body, to: server.base + "/hook/ok/expect"))
            let recorded = try await HTTPClientRetryTests.recorded(server, "/hook/ok/expect")
            let sentHeaders = try #require(recorded.first?["headers"] as? [String: String])
            #expect(sentHeaders["Expect"] == nil)
            #expect(sentHeaders["Content-Length"] == String(body.utf8.count))
            #expect(recorded.first?["body"] as? String == body)

            let head = try await client.execute(HTTPRequest(method: "HEAD", url: server.base + "/bytes/777"))
            #expect(head.status == 200)
            #expect(head.bodyBytes == 0)
            #expect(head.header("Content-Length") == "777")
        }
    }

    @Test func headerWithLineBreakIsRejectedWithoutSendingOrLoggingIt() async throws {
        do throws(HTTPError) {
            _ = try await client.execute(
                HTTPRequest(url: "http://127.0.0.1:9/x", headers: [("X-Evil", "a\r\nHost: other-secret")]))
            Issue.record("a header with CRLF was sent")
        } catch {
            #expect(error.kind == .invalidRequest)
            #expect(!error.description.contains("other-secret"))
        }
    }

    @Test func cancellingTheTaskRemovesTheTransfer() async throws {
        try await LocalHTTPServer.with { server in
            let request = HTTPRequest(url: server.base + "/slow/1000000?chunk=1000&delay=0.1", timeout: 30, responseBody: .discard)
            let task = Task { try await client.execute(request) }
            try await Task.sleep(for: .milliseconds(300))
            let cancelled = ContinuousClock.now
            task.cancel()
            let result = await task.result
            // The body would take 100 s; cancellation ends the wait at once.
            #expect(cancelled.duration(to: .now) < .seconds(10), "far below the 30 s timeout and the 100 s body")
            guard case .failure(let error as HTTPError) = result else {
                Issue.record("expected a cancellation error, got \(result)")
                return
            }
            #expect(error.kind == .cancelled)
            #expect(error.partial.bodyBytes < 1_000_000)
        }
    }

    @Test func shutdownCancelsTransfersInFlightAndLaterOnes() async throws {
        try await LocalHTTPServer.with { server in
            let own = HTTPClient(name: "test-http")
            let slow = Task { try await own.execute(HTTPRequest(url: server.base + "/slow/1000000?chunk=1000&delay=0.1")) }
            try await Task.sleep(for: .milliseconds(200))
            own.shutdown()
            guard case .failure(let error as HTTPError) = await slow.result else {
                Issue.record("a 100 s transfer survived shutdown")
                return
            }
            #expect(error.kind == .cancelled)
            do throws(HTTPError) {
                _ = try await own.execute(HTTPRequest(url: server.base + "/bytes/10"))
                Issue.record("a request succeeded after shutdown")
            } catch {
                #expect(error.kind == .cancelled)
            }
        }
    }

    @Test func manyConcurrentTransfersShareTheOneThread() async throws {
        try await LocalHTTPServer.with { server in
            let sizes = (1...40).map { $0 * 1000 }
            let received = try await withThrowingTaskGroup(of: (Int, Int64).self) { group in
                for size in sizes {
                    group.addTask {
                        let r = try await client.execute(HTTPRequest(url: server.base + "/bytes/\(size)", responseBody: .discard))
                        return (size, r.bodyBytes)
                    }
                }
                var out: [Int: Int64] = [:]
                for try await (size, bytes) in group { out[size] = bytes }
                return out
            }
            #expect(received.count == sizes.count)
            #expect(received.allSatisfy { Int64($0.key) == $0.value })
        }
    }

    @Test func aLargeBodyDoesNotGrowTheProcess() async throws {
        try await LocalHTTPServer.with { server in
            let size: Int64 = 256 << 20
            let before = try MemoryUsage.resetPeak()
            let response = try await client.execute(
                HTTPRequest(url: server.base + "/bytes/\(size)", timeout: 120, responseBody: .discard))
            let peak = try MemoryUsage.peakKiB()
            #expect(response.bodyBytes == size)
            let growthMiB = Double(peak - before) / 1024
            print("256 MiB download: RSS before \(before / 1024) MiB, peak growth \(growthMiB) MiB, "
                + "\(Int(Double(size) * 8 / 1e6 / response.timings.totalSeconds)) Mbit/s")
            // Other tests run in parallel in this process; a kept body would add 256 MiB.
            #expect(growthMiB < 32)
        }
    }

    /// A port nothing listens on: bound, then closed.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                guard bind(fd, raw, length) == 0, getsockname(fd, raw, &length) == 0 else {
                    throw LocalHTTPServer.ServerError("bind failed")
                }
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
