internal import CCurl

/// What came back from one transfer: status, headers, body (or just its size) and timings.
public struct HTTPResponse: Sendable {
    /// The HTTP status of the last response (after redirects); `0` when none arrived.
    public var status: Int
    /// The headers of the last response, in order, names as the server wrote them.
    public var headers: [(name: String, value: String)]
    /// The body bytes kept (with `.collect(limit:)`; empty with `.discard`).
    public var body: [UInt8]
    /// Body bytes received (all of them, kept or not; at most `maxBytes` when that is set).
    public var bodyBytes: Int64
    /// Whether the transfer ended early because `maxBytes` was reached.
    public var stoppedAtMaxBytes: Bool
    /// Redirects followed.
    public var redirects: Int
    /// How long each phase took.
    public var timings: HTTPTimings
    /// Whether the request's `bodyPattern` was found in the body; `nil` without one.
    public var bodyMatched: Bool?
    /// The body's first bytes (at most 512), kept when the request had a `bodyPattern`.
    public var bodyPreview: [UInt8] = []
    /// The TLS version and certificate chain, with `inspectTLS` on a TLS connection.
    public var tls: TLSDetails?
    /// The address connected to (`127.0.0.1`, `::1`); empty when no connection was made.
    public var primaryIP: String = ""
    /// The `errno` of the last failed connect (`ECONNREFUSED`, …); `0` when none failed.
    public var connectErrno: Int32 = 0

    public init(
        status: Int = 0, headers: [(name: String, value: String)] = [], body: [UInt8] = [], bodyBytes: Int64 = 0,
        stoppedAtMaxBytes: Bool = false, redirects: Int = 0, timings: HTTPTimings = HTTPTimings()
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyBytes = bodyBytes
        self.stoppedAtMaxBytes = stoppedAtMaxBytes
        self.redirects = redirects
        self.timings = timings
    }

    /// Whether the status is 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The last value of header `name` (case-insensitive), or `nil`.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.last(where: { $0.name.lowercased() == wanted })?.value
    }

    /// The kept body as text (invalid UTF-8 replaced).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Seconds to wait before retrying, from a `Retry-After` header in seconds (`120`) or as an
    /// HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`); `nil` when absent or malformed. A date in the
    /// past gives `0`.
    public func retryAfter(nowSeconds: Double = Double(WallClock.nowMillis()) / 1000) -> Double? {
        guard let text = header("Retry-After") else { return nil }
        return Self.parseRetryAfter(text, nowSeconds: nowSeconds)
    }

    /// Parses a `Retry-After` value: delay seconds or an HTTP date (relative to `nowSeconds`,
    /// Unix time).
    public static func parseRetryAfter(_ text: String, nowSeconds: Double) -> Double? {
        let trimmed = text.trimmingSpaces
        if let seconds = Int(trimmed) { return seconds >= 0 ? Double(seconds) : nil }
        // curl_getdate understands the three date formats RFC 9110 allows.
        let date = curl_getdate(trimmed, nil)
        guard date >= 0 else { return nil }
        return max(0, Double(date) - nowSeconds)
    }
}

/// Phase timings of one transfer, from libcurl, in milliseconds with microsecond resolution.
///
/// curl reports cumulative times from the start of a request; `dnsMs`, `connectMs` and `tlsMs`
/// are the lengths of those phases alone, `ttfbMs` counts from the start of the request. After
/// redirects these are the **final hop's** (libcurl sums every hop's phases, so an http→https
/// redirect would otherwise show a TLS handshake too short or clamped to 0); `redirectMs` is the
/// time spent on the hops before it, and `totalMs` the whole transfer, redirects included. A
/// reused connection has no DNS, connect or TLS phase (all `0`); so has a plain-HTTP request no TLS.
public struct HTTPTimings: Sendable, Hashable {
    /// Cumulative microseconds from the start of the (final) request.
    public var nameLookupMicros: Int64
    public var connectMicros: Int64
    public var appConnectMicros: Int64
    public var startTransferMicros: Int64
    /// Microseconds of the whole transfer, redirects included.
    public var totalMicros: Int64
    /// Microseconds spent on redirects before the final request started (`0` without).
    public var redirectMicros: Int64

    public init(
        nameLookupMicros: Int64 = 0, connectMicros: Int64 = 0, appConnectMicros: Int64 = 0,
        startTransferMicros: Int64 = 0, totalMicros: Int64 = 0, redirectMicros: Int64 = 0
    ) {
        self.nameLookupMicros = nameLookupMicros
        self.connectMicros = connectMicros
        self.appConnectMicros = appConnectMicros
        self.startTransferMicros = startTransferMicros
        self.totalMicros = totalMicros
        self.redirectMicros = redirectMicros
    }

    /// The final hop's own phases, from libcurl's sums over all hops (`self`) and the sums as they
    /// stood when the last redirect response began (`base`): libcurl adds each hop's phase times,
    /// each counted from that hop's start. A phase the final hop did not go through (a reused
    /// connection: no DNS, connect or TLS) stays `0`.
    public func finalHop(after base: HTTPTimings) -> HTTPTimings {
        func own(_ total: Int64, _ before: Int64) -> Int64 { max(0, total - before) }
        return HTTPTimings(
            nameLookupMicros: own(nameLookupMicros, base.nameLookupMicros), connectMicros: own(connectMicros, base.connectMicros),
            appConnectMicros: own(appConnectMicros, base.appConnectMicros),
            startTransferMicros: own(startTransferMicros, base.startTransferMicros), totalMicros: totalMicros,
            redirectMicros: redirectMicros)
    }

    /// Name resolution (ms).
    public var dnsMs: Double { Double(nameLookupMicros) / 1000 }
    /// TCP handshake alone (ms).
    public var connectMs: Double { connectMicros > 0 ? Double(max(0, connectMicros - nameLookupMicros)) / 1000 : 0 }
    /// TLS handshake alone (ms); `0` for plain HTTP.
    public var tlsMs: Double { appConnectMicros > 0 ? Double(max(0, appConnectMicros - connectMicros)) / 1000 : 0 }
    /// From the start of the (final) request to the first byte of its response (ms).
    public var ttfbMs: Double { Double(startTransferMicros) / 1000 }
    /// Spent on redirects before the final request (ms).
    public var redirectMs: Double { Double(redirectMicros) / 1000 }
    /// The whole transfer (ms).
    public var totalMs: Double { Double(totalMicros) / 1000 }
    /// The whole transfer (s).
    public var totalSeconds: Double { Double(totalMicros) / 1_000_000 }
}
