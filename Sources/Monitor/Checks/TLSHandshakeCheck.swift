/// `hostport` with `tls: true` (or `starttls: smtp`): connects to `host`:`port`, completes a TLS
/// handshake (for SMTP after `EHLO` and `STARTTLS`), reads the certificate chain the server sent
/// and closes the connection. Any TLS port: HTTPS, SMTPS, IMAPS, AMQPS, LDAPS, …
///
/// libcurl does the work, with `CONNECT_ONLY` on an `https://host:port` URL (ALPN off, no
/// request sent) or an `smtp://host:port` URL with TLS required (libcurl's own STARTTLS): it
/// already verifies chains and host names, reads the chain (`CERTINFO`) and runs on the HTTP
/// client's one thread with every other transfer, so a handshake never blocks a cooperative
/// thread. The plain `hostport` check keeps its own epoll reactor (cheaper per connect).
public struct TLSHandshakeCheck: Check {
    public let host: String
    public let port: UInt16
    /// Seconds the whole run may take (lookup, connect, handshake).
    public let timeout: Double
    /// `smtp`, or `nil` for TLS from the first byte.
    public let startTLS: String?
    public let minCertDays: Double
    public let request: HTTPRequest
    private let client: HTTPClient

    public init(
        host: String, port: UInt16, timeout: Double = 30, family: AddressPreference = .any, startTLS: String? = nil,
        verify: Bool = true, caFile: String? = nil, minCertDays: Double = 14, client: HTTPClient = .shared
    ) {
        self.host = host
        self.port = port
        self.timeout = timeout
        self.startTLS = startTLS
        self.minCertDays = minCertDays
        self.client = client
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        target = authority
        var request = HTTPRequest(
            url: (startTLS == "smtp" ? "smtp://" : "https://") + authority, timeout: timeout, connectTimeout: timeout,
            verifyTLS: verify, caFile: caFile, responseBody: .discard, freshConnection: true)
        request.connectOnly = true
        request.inspectTLS = true
        request.requireTLS = startTLS != nil
        request.addressPreference = family
        self.request = request
    }

    /// From `hostport`'s validated options (`tls: true` or `starttls` set).
    init(options o: Options, client: HTTPClient = .shared) throws(ConfigDiagnostic) {
        let host = o.string("host") ?? ""
        if host.contains(where: { $0 == "/" || $0 == "@" || $0 == "?" || $0 == "#" || $0 == " " }) {
            throw o.problem("host", "found \"\(host)\", expected a host name or address")
        }
        self.init(
            host: host, port: UInt16(o.int("port") ?? 1), timeout: o.double("timeout") ?? 30,
            family: AddressPreference(rawValue: o.string("family") ?? "any") ?? .any, startTLS: o.string("starttls"),
            verify: o.bool("ssl") ?? true, caFile: o.string("ca_file"), minCertDays: o.double("min_cert_days") ?? 14, client: client)
    }

    /// `host:port` as the messages show it.
    let target: String

    public func run() async -> CheckOutcome {
        await start().outcome()
    }

    /// The handshake runs without a task, on the HTTP client's thread, by `timeout`.
    public func start() -> CheckStart {
        .later { [self] finish in client.start(request) { finish(outcome($0)) } }
    }

    func outcome(_ result: Result<HTTPResponse, HTTPError>, nowSeconds: Double = Double(WallClock.nowMillis()) / 1000) -> CheckOutcome {
        let prefix = "Failed to connect to \(target): "
        switch result {
        case .success(let response):
            var measurement = Self.measurement(response, connected: true)
            guard let tls = response.tls else {
                measurement["error"] = "tls"
                return .failure(prefix + "no TLS certificate was read", measurement)
            }
            measurement.merge(CertificateExpiry.measurement(tls, nowSeconds: nowSeconds)) { $1 }
            if let problem = CertificateExpiry.problem(tls, host: host, minDays: minCertDays, nowSeconds: nowSeconds) {
                measurement["error"] = "certificate"
                return .failure(prefix + problem, measurement)
            }
            let details = [tls.version, startTLS.map { "STARTTLS \($0)" }, CertificateExpiry.validity(tls, nowSeconds: nowSeconds)]
            let via = host == response.primaryIP || response.primaryIP.isEmpty ? "" : " (\(response.primaryIP))"
            return .success("Successfully connected to \(target)\(via) with TLS (\(details.compactMap { $0 }.joined(separator: ", ")))", measurement)
        case .failure(let error):
            var measurement = Self.measurement(error.partial, connected: false)
            let (kind, text) = describe(error)
            measurement["error"] = .string(kind)
            return .failure(prefix + text, measurement)
        }
    }

    /// The `error` measurement and the message's reason for a failed run.
    private func describe(_ error: HTTPError) -> (String, String) {
        let detail = error.detail
        switch error.kind {
        case .dns: return ("dns", "DNS lookup of \(host) failed: \(detail)")
        case .timeout: return ("timeout", "timed out after \(DownloadCheck.number(timeout)) s (\(detail))")
        case .connect:
            // libcurl's text does not say why; the connect's errno does, in hostport's words.
            let code = error.partial.connectErrno
            return code == 0 ? ("error", detail) : (HostPortCheck.errorKind(code), HostPortCheck.describe(code))
        case .tls:
            if let words = CertificateExpiry.verificationFailure(detail, host: host) { return ("certificate", "\(words) (\(detail))") }
            return ("tls", "TLS handshake failed: \(detail)")
        default:
            if let code = error.curlCode, code == 64 {  // CURLE_USE_SSL_FAILED
                return ("tls", "the server does not offer STARTTLS (\(detail))")
            }
            return ("error", "\(error.summary): \(detail)")
        }
    }

    /// `connection`, `address`, `dns_ms`, `connect_ms` (TCP alone), `tls_ms` (the handshake,
    /// STARTTLS exchange included).
    static func measurement(_ response: HTTPResponse, connected: Bool) -> [String: JSONValue] {
        let t = response.timings
        var m: [String: JSONValue] = [
            "connection": .int(connected ? 1 : 0),
            "dns_ms": .double(DownloadCheck.round(t.dnsMs, 3)),
            "connect_ms": .double(DownloadCheck.round(t.connectMs, 3)),
            "tls_ms": .double(DownloadCheck.round(t.tlsMs, 3)),
        ]
        if !response.primaryIP.isEmpty { m["address"] = .string(response.primaryIP) }
        return m
    }
}
