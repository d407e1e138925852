import Testing

@testable import Monitor

@Suite struct HTTPResponseTests {
    @Test func retryAfterInSeconds() {
        #expect(HTTPResponse.parseRetryAfter("120", nowSeconds: 0) == 120)
        #expect(HTTPResponse.parseRetryAfter(" 0 ", nowSeconds: 0) == 0)
        #expect(HTTPResponse.parseRetryAfter("-5", nowSeconds: 0) == nil)
        #expect(HTTPResponse.parseRetryAfter("soon", nowSeconds: 0) == nil)
    }

    @Test func retryAfterAsHTTPDate() {
        // Wed, 21 Oct 2015 07:28:00 GMT = 1445412480
        #expect(HTTPResponse.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", nowSeconds: 1_445_412_470) == 10)
        #expect(HTTPResponse.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", nowSeconds: 1_445_412_490) == 0)
    }

    @Test func headerLookupIsCaseInsensitiveAndTakesTheLast() {
        let response = HTTPResponse(status: 429, headers: [("retry-after", "3"), ("X-A", "1"), ("Retry-After", "5")])
        #expect(response.header("RETRY-AFTER") == "5")
        #expect(response.header("x-a") == "1")
        #expect(response.header("missing") == nil)
        #expect(response.retryAfter(nowSeconds: 0) == 5)
    }

    @Test func phaseTimingsFromCumulativeMicroseconds() {
        let t = HTTPTimings(
            nameLookupMicros: 1_000, connectMicros: 1_500, appConnectMicros: 4_500, startTransferMicros: 6_000,
            totalMicros: 10_250)
        #expect(t.dnsMs == 1)
        #expect(t.connectMs == 0.5)
        #expect(t.tlsMs == 3)
        #expect(t.ttfbMs == 6)
        #expect(t.totalMs == 10.25)
        #expect(t.totalSeconds == 0.01025)
        // Plain HTTP on a reused connection: no DNS, connect or TLS phase.
        let reused = HTTPTimings(startTransferMicros: 300, totalMicros: 400)
        #expect([reused.dnsMs, reused.connectMs, reused.tlsMs] == [0, 0, 0])
    }
}
