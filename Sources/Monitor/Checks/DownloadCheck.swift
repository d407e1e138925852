/// `download`: fetches `url` over HTTP(S) with libcurl, counting the body and throwing it away
/// (1 GiB costs no more memory than 1 KiB), and reports size, time, speed, status and the phase
/// timings libcurl measures.
///
/// Beyond "the server answered": `expect_body` looks for text or a regex in the body as it
/// streams by, `expect_json` checks values of a JSON body (kept up to `json_max_bytes`), and over
/// https the server's certificate chain is read (`cert_expires_days`, …) and must stay valid for
/// `min_cert_days`.
///
/// A transfer that runs past `timeout` fails but still reports the bytes and speed it reached.
/// `max_bytes` stops reading early and still counts as a success. Messages name the host,
/// never the URL (it may carry tokens); what they quote of a body is cut short and masked.
public struct DownloadCheck: Check {
    /// The options of `download`.
    public static let kind = CheckKind(
        name: "download",
        options: [
            OptionSpec("url", .string, required: true, help: "http:// or https:// URL to download"),
            OptionSpec("method", .choice(["get", "head", "post", "put"]), default: "get", help: "request method: GET, HEAD, POST or PUT"),
            OptionSpec("headers", .stringMap, help: "request headers (values are masked in results)"),
            OptionSpec("body", .string, help: "request body (POST or PUT); set its Content-Type in headers"),
            OptionSpec("body_file", .string, help: "file whose bytes are the request body (instead of body)"),
            OptionSpec("ssl", .boolean, default: true, help: "verify the server's TLS certificate and host name"),
            CertificateExpiry.caFileOption,
            CertificateExpiry.minDaysOption,
            OptionSpec("timeout", .duration(minimum: 0.001), default: 30, help: "seconds the whole transfer may take"),
            OptionSpec("follow_redirects", .boolean, default: true, help: "follow 3xx redirects (at most 10)"),
            OptionSpec("expect_status", .stringList, help: "accepted statuses: 200, [200, 204], 2xx, [2xx, 304]; default any 2xx"),
            OptionSpec(
                "expect_body", .structure(expected: "text the body must contain, or {regex: PATTERN}"),
                help: "text the body must contain, or {regex: PATTERN}; searched as the body streams by"),
            OptionSpec(
                "expect_json", .structure(expected: "a list of {path: $.NAME, equals|exists|matches|<|>: VALUE}"),
                help: "assertions on a JSON body: [{path: $.status, equals: ok}, {path: $.n, <: 100}]"),
            OptionSpec("json_max_bytes", .integer(1...(64 << 20)), default: .int(1 << 20), help: "largest body read as JSON for expect_json"),
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
    /// Assertions on a JSON body; empty without `expect_json`.
    public let jsonAssertions: [JSONAssertion]
    /// The largest body read as JSON (bytes).
    public let jsonMaxBytes: Int
    /// Fail when the chain's earliest certificate expires in fewer days.
    public let minCertDays: Double
    private let client: HTTPClient

    public init(
        request: HTTPRequest, expected: StatusExpectation = StatusExpectation(), jsonAssertions: [JSONAssertion] = [],
        jsonMaxBytes: Int = 1 << 20, minCertDays: Double = 14, client: HTTPClient = .shared
    ) {
        var request = request
        request.inspectTLS = true
        if !jsonAssertions.isEmpty { request.responseBody = .collect(limit: jsonMaxBytes) }
        self.request = request
        self.expected = expected
        self.jsonAssertions = jsonAssertions
        self.jsonMaxBytes = jsonMaxBytes
        self.minCertDays = minCertDays
        self.client = client
    }

    /// Builds the check from validated options; a bad `url`, `expect_status`, `expect_body`,
    /// `expect_json` or body is a config error at the line where it was written.
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
        let method = (options.string("method") ?? "get").uppercased()
        let body = try Self.requestBody(options, method: method)
        let pattern = try Self.bodyPattern(options, method: method)
        var assertions: [JSONAssertion] = []
        if let written = options["expect_json"] {
            if method == "HEAD" { throw options.problem("expect_json", "a HEAD response has no body to check; use GET") }
            assertions = try JSONAssertion.list(from: written, options: options, name: "expect_json")
        }
        var request = HTTPRequest(
            method: method, url: url,
            headers: (options.stringMap("headers") ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, body: body,
            timeout: options.double("timeout") ?? 30, verifyTLS: options.bool("ssl") ?? true, caFile: options.string("ca_file"),
            followRedirects: options.bool("follow_redirects") ?? true, maxRedirects: 10, responseBody: .discard,
            maxBytes: options.int("max_bytes").map(Int64.init), freshConnection: true)
        request.bodyPattern = pattern
        self.init(
            request: request, expected: expected, jsonAssertions: assertions, jsonMaxBytes: options.int("json_max_bytes") ?? 1 << 20,
            minCertDays: options.double("min_cert_days") ?? 14, client: client)
    }

    /// The request body from `body` or `body_file` (read once, here: a missing file is a config
    /// error, not a failed run every minute).
    static func requestBody(_ options: Options, method: String) throws(ConfigDiagnostic) -> [UInt8] {
        let text = options.string("body")
        let file = options.string("body_file")
        if text != nil, file != nil { throw options.problem("body_file", "both body and body_file are set; give only one") }
        let key = text != nil ? "body" : "body_file"
        guard text != nil || file != nil else { return [] }
        guard method == "POST" || method == "PUT" else {
            throw options.problem(key, "a request body needs method POST or PUT (method is \(method))")
        }
        if let text { return Array(text.utf8) }
        do {
            return Array(try FileSystem.readText(file!, maxBytes: 16 << 20).utf8)
        } catch {
            throw options.problem("body_file", "cannot read \(file!): \(error)")
        }
    }

    /// `expect_body`: text, or `{regex: PATTERN}`.
    static func bodyPattern(_ options: Options, method: String) throws(ConfigDiagnostic) -> BodyPattern? {
        guard let written = options["expect_body"] else { return nil }
        if method == "HEAD" { throw options.problem("expect_body", "a HEAD response has no body to search; use GET") }
        switch written {
        case .string(let text) where !text.isEmpty:
            return .substring(text)
        case .object(let members) where members.count == 1:
            guard let source = members["regex"]?.stringValue, !source.isEmpty else { break }
            do {
                _ = try BodyPattern.compile(source)
            } catch {
                throw options.problem("expect_body.regex", "not a regular expression: \(error)")
            }
            return .regex(source)
        default:
            break
        }
        throw options.problem("expect_body", "found \(written.json()), expected text the body must contain, or {regex: PATTERN}")
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
    func outcome(_ result: Result<HTTPResponse, HTTPError>, nowSeconds: Double = Double(WallClock.nowMillis()) / 1000) -> CheckOutcome {
        let host = request.host
        switch result {
        case .success(let response):
            var measurement = Self.measurement(response)
            if let tls = response.tls { measurement.merge(CertificateExpiry.measurement(tls, nowSeconds: nowSeconds)) { $1 } }
            guard expected.accepts(response.status) else {
                return .failure(
                    "Failed to download the file: HTTP \(response.status) from \(host) (expected \(expected))", measurement)
            }
            if let problem = contentProblem(response) {
                return .failure("Failed to download the file: \(problem)", measurement)
            }
            if let tls = response.tls, let problem = CertificateExpiry.problem(tls, host: host, minDays: minCertDays, nowSeconds: nowSeconds) {
                return .failure("Failed to download the file: \(problem)", measurement)
            }
            var message = "Finished download \(response.bodyBytes) bytes in \(Self.seconds(response)) seconds"
            message += " (\(Self.speedText(response)) Mbit/s, HTTP \(response.status)"
            if response.stoppedAtMaxBytes { message += ", stopped at max_bytes" }
            if let tls = response.tls, let validity = CertificateExpiry.validity(tls, nowSeconds: nowSeconds) { message += ", \(validity)" }
            return .success(message + ")", measurement)
        case .failure(let error):
            let partial = error.partial
            var message = "Failed to download the file: "
            switch error.kind {
            case .timeout:
                message += "timed out after \(Self.number(request.timeout)) s with \(partial.bodyBytes) bytes"
                message += " from \(host) (\(Self.speedText(partial)) Mbit/s)"
            case .tls where CertificateExpiry.verificationFailure(error.detail, host: host) != nil:
                message += CertificateExpiry.verificationFailure(error.detail, host: host)! + " (\(error.detail))"
            default:
                message += "\(error.summary) (\(host))"
                if !error.detail.isEmpty { message += ": \(error.detail)" }
            }
            return .failure(message, Self.measurement(partial))
        }
    }

    /// What `expect_body` and `expect_json` found wrong in a response, else `nil`.
    func contentProblem(_ response: HTTPResponse) -> String? {
        let host = request.host
        if let pattern = request.bodyPattern, response.bodyMatched == false {
            let limit = response.stoppedAtMaxBytes ? " in its first \(response.bodyBytes) bytes (max_bytes)" : ""
            return "body from \(host) does not contain \(pattern.description)\(limit); \(Self.found(response.bodyPreview, total: response.bodyBytes))"
        }
        guard !jsonAssertions.isEmpty else { return nil }
        guard response.bodyBytes <= Int64(jsonMaxBytes) else {
            return "body from \(host) is more than \(jsonMaxBytes) bytes (json_max_bytes), too large to read as JSON"
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(response.bodyText)
        } catch {
            return "body from \(host) is not JSON (\(error)); \(Self.found(response.body, total: response.bodyBytes))"
        }
        let failures = jsonAssertions.compactMap { $0.failure(in: document) }
        return failures.isEmpty ? nil : "JSON from \(host): " + failures.joined(separator: "; ")
    }

    /// `found "<html>…"`, or `the body is empty`.
    static func found(_ preview: [UInt8], total: Int64) -> String {
        total == 0 || preview.isEmpty ? "the body is empty" : "found \"\(BodyExcerpt.of(preview))\""
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
