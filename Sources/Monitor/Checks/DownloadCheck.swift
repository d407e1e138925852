/// `download`: fetches `url` over HTTP(S) with libcurl, counting the body and throwing it away
/// (1 GiB costs no more memory than 1 KiB), and reports size, time, speed, status and the phase
/// timings libcurl measures.
///
/// A transfer that runs past `timeout` fails but still reports the bytes and speed it reached.
/// `max_bytes` stops reading early and still counts as a success. Messages name the host,
/// never the URL (it may carry tokens).
public struct DownloadCheck: Check {
    /// The options of `download`.
    public static let kind = CheckKind(
        name: "download",
        options: [
            OptionSpec("url", .string, required: true, help: "http:// or https:// URL to download"),
            OptionSpec("headers", .stringMap, help: "request headers (values are masked in results)"),
            OptionSpec("ssl", .boolean, default: true, help: "verify the server's TLS certificate and host name"),
            OptionSpec("timeout", .duration(minimum: 0.001), default: 30, help: "seconds the whole transfer may take"),
            OptionSpec("follow_redirects", .boolean, default: true, help: "follow 3xx redirects (at most 10)"),
            OptionSpec("expect_status", .stringList, help: "accepted statuses: 200, [200, 204], 2xx, [2xx, 304]; default any 2xx"),
            OptionSpec("max_bytes", .integer(1...Int.max), help: "stop after this many body bytes (still a success)"),
        ],
        make: { context in try DownloadCheck(options: context.options) })

    /// Which statuses count as success.
    public struct StatusExpectation: Sendable, Hashable, CustomStringConvertible {
        /// Exact codes, e.g. `[200, 204]`.
        public var codes: Set<Int>
        /// Whole classes by leading digit, e.g. `[2]` for `2xx`.
        public var classes: Set<Int>

        public init(codes: Set<Int> = [], classes: Set<Int> = [2]) {
            self.codes = codes
            self.classes = classes
        }

        /// Parses `200`, `2xx` items; `nil` for anything else.
        public init?(_ items: [String]) {
            var codes: Set<Int> = []
            var classes: Set<Int> = []
            for item in items.map({ $0.trimmingSpaces.lowercased() }) {
                if let code = Int(item), (100...599).contains(code) {
                    codes.insert(code)
                } else if item.count == 3, item.hasSuffix("xx"), let digit = Int(item.prefix(1)), (1...5).contains(digit) {
                    classes.insert(digit)
                } else {
                    return nil
                }
            }
            guard !codes.isEmpty || !classes.isEmpty else { return nil }
            self.init(codes: codes, classes: classes)
        }

        public func accepts(_ status: Int) -> Bool {
            codes.contains(status) || classes.contains(status / 100)
        }

        /// `2xx`, `200 or 204`, `2xx or 304`.
        public var description: String {
            (classes.sorted().map { "\($0)xx" } + codes.sorted().map(String.init)).joined(separator: " or ")
        }
    }

    public let request: HTTPRequest
    public let expected: StatusExpectation
    private let client: HTTPClient

    public init(request: HTTPRequest, expected: StatusExpectation = StatusExpectation(), client: HTTPClient = .shared) {
        self.request = request
        self.expected = expected
        self.client = client
    }

    /// Builds the check from validated options; a bad `url` or `expect_status` is a config error.
    public init(options: Options, client: HTTPClient = .shared) throws(ConfigDiagnostic) {
        let url = options.string("url") ?? ""
        let scheme = url.prefix(while: { $0 != ":" }).lowercased()
        guard scheme == "http" || scheme == "https", url.contains("://"), HTTPRequest.host(of: url) != "?" else {
            throw options.problem("url", "expected an http:// or https:// URL with a host")
        }
        var expected = StatusExpectation()
        // A list, or one scalar (the loader already wraps a scalar into a one-element list).
        let written = options["expect_status"]
        if let items = written?.arrayValue?.map(\.displayText) ?? written.map({ [$0.displayText] }) {
            guard let parsed = StatusExpectation(items) else {
                throw options.problem(
                    "expect_status", "expected a status (100-599), a class like 2xx, or a list of them; found \(items)")
            }
            expected = parsed
        }
        let request = HTTPRequest(
            url: url, headers: (options.stringMap("headers") ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            timeout: options.double("timeout") ?? 30, verifyTLS: options.bool("ssl") ?? true,
            followRedirects: options.bool("follow_redirects") ?? true, maxRedirects: 10, responseBody: .discard,
            maxBytes: options.int("max_bytes").map(Int64.init), freshConnection: true)
        self.init(request: request, expected: expected, client: client)
    }

    public func run() async -> CheckOutcome {
        do throws(HTTPError) {
            return outcome(.success(try await client.execute(request)))
        } catch {
            return outcome(.failure(error))
        }
    }

    /// The transfer runs without a task: it ends on the HTTP client's thread, by the request's
    /// `timeout` (the scheduler's hard deadline, a little later, is only a safety net).
    public func start() -> CheckStart {
        .later { [self] finish in client.start(request) { finish(outcome($0)) } }
    }

    /// The outcome of one transfer.
    func outcome(_ result: Result<HTTPResponse, HTTPError>) -> CheckOutcome {
        let host = request.host
        switch result {
        case .success(let response):
            let measurement = Self.measurement(response)
            guard expected.accepts(response.status) else {
                return .failure(
                    "Failed to download the file: HTTP \(response.status) from \(host) (expected \(expected))", measurement)
            }
            var message = "Finished download \(response.bodyBytes) bytes in \(Self.seconds(response)) seconds"
            message += " (\(Self.speedText(response)) Mbit/s, HTTP \(response.status)"
            message += response.stoppedAtMaxBytes ? ", stopped at max_bytes)" : ")"
            return .success(message, measurement)
        case .failure(let error):
            let partial = error.partial
            var message = "Failed to download the file: "
            switch error.kind {
            case .timeout:
                message += "timed out after \(Self.number(request.timeout)) s with \(partial.bodyBytes) bytes"
                message += " from \(host) (\(Self.speedText(partial)) Mbit/s)"
            default:
                message += "\(error.summary) (\(host))"
                if !error.detail.isEmpty { message += ": \(error.detail)" }
            }
            return .failure(message, Self.measurement(partial))
        }
    }

    /// `bytes`, `time` (s), `speed` (Mbit/s), `status`, and `dns_ms`, `connect_ms`, `tls_ms`,
    /// `ttfb_ms` (the final request's, after redirects), `total_ms`, `redirect_ms`, `redirects`.
    static func measurement(_ response: HTTPResponse) -> [String: JSONValue] {
        let t = response.timings
        return [
            "bytes": .int(Int(response.bodyBytes)),
            "time": .double(round(t.totalSeconds, 6)),
            "speed": .double(round(speed(response), 3)),
            "status": .int(response.status),
            "dns_ms": .double(round(t.dnsMs, 3)),
            "connect_ms": .double(round(t.connectMs, 3)),
            "tls_ms": .double(round(t.tlsMs, 3)),
            "ttfb_ms": .double(round(t.ttfbMs, 3)),
            "total_ms": .double(round(t.totalMs, 3)),
            "redirect_ms": .double(round(t.redirectMs, 3)),
            "redirects": .int(response.redirects),
        ]
    }

    /// Megabits per second, as the original: `8 · bytes / 10⁶ / seconds`.
    static func speed(_ response: HTTPResponse) -> Double {
        let seconds = response.timings.totalSeconds
        return seconds > 0 ? 8 * Double(response.bodyBytes) / 1_000_000 / seconds : 0
    }

    static func speedText(_ response: HTTPResponse) -> String { number(round(speed(response), 1)) }

    static func seconds(_ response: HTTPResponse) -> String { number(round(response.timings.totalSeconds, 3)) }

    /// `30` rather than `30.0`; fractions as they are.
    static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : JSONValue.format(value)
    }

    static func round(_ value: Double, _ decimals: Int) -> Double {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        return (value * scale).rounded() / scale
    }
}
