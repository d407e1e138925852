/// Why an HTTP request failed. The description names the method and host only, never the URL's
/// path or query (webhook URLs are secrets), nor header values.
///
/// `partial` keeps what arrived before the failure: a download that timed out still knows its
/// byte count and timings.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarsely; enough to decide on a retry and to word a message.
    public enum Kind: Sendable, Hashable {
        /// The request could not be sent as given (malformed URL, unsupported scheme, a header
        /// with a line break).
        case invalidRequest
        /// The host name did not resolve.
        case dns
        /// No TCP connection (refused, unreachable).
        case connect
        /// The request or its connect phase ran out of time.
        case timeout
        /// The TLS handshake or certificate verification failed.
        case tls
        /// More redirects than allowed.
        case tooManyRedirects
        /// The connection broke while sending or receiving.
        case transfer
        /// A complete response with an unwanted status (raised by `send(_:retry:logger:)`).
        case status(Int)
        /// The awaiting task was cancelled.
        case cancelled
        /// Anything else libcurl reported.
        case other
    }

    public var kind: Kind
    /// The request method, e.g. `POST`.
    public var method: String
    /// The host only, e.g. `hooks.slack.com`.
    public var host: String
    /// libcurl's error text (URL removed), or the start of the response body for `.status`.
    public var detail: String
    /// libcurl's `CURLcode`, when libcurl reported the error.
    public var curlCode: Int?
    /// What was received before the failure (status, bytes, timings).
    public var partial: HTTPResponse

    public init(
        kind: Kind, method: String, host: String, detail: String, curlCode: Int? = nil,
        partial: HTTPResponse = HTTPResponse()
    ) {
        self.kind = kind
        self.method = method
        self.host = host
        self.detail = detail
        self.curlCode = curlCode
        self.partial = partial
    }

    /// Whether trying the same request again later may succeed: connection problems, time-outs,
    /// HTTP 429 and 5xx. Never other 4xx, invalid requests or certificate failures.
    public var isRetryable: Bool {
        switch kind {
        case .dns, .connect, .timeout, .transfer, .other: true
        case .status(let code): code == 429 || (500..<600).contains(code)
        case .invalidRequest, .tls, .tooManyRedirects, .cancelled: false
        }
    }

    /// A short phrase for the kind, e.g. `timed out`.
    public var summary: String {
        switch kind {
        case .invalidRequest: "invalid request"
        case .dns: "cannot resolve host"
        case .connect: "cannot connect"
        case .timeout: "timed out"
        case .tls: "TLS failure"
        case .tooManyRedirects: "too many redirects"
        case .transfer: "connection broken"
        case .status(let code): "HTTP \(code)"
        case .cancelled: "cancelled"
        case .other: "transfer failed"
        }
    }

    /// `POST hooks.slack.com: HTTP 500: upstream error`.
    public var description: String {
        var text = "\(method) \(host): \(summary)"
        if !detail.isEmpty { text += ": " + detail }
        return text
    }

    /// Removes `url` and its path-and-query from `text`, so errors can be shown anywhere.
    static func scrub(_ text: String, url: String) -> String {
        var out = text
        if !url.isEmpty { out = out.replacing(url, with: "<url>") }
        if let schemeEnd = url.firstRange(of: "://") {
            let rest = url[schemeEnd.upperBound...]
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                let pathAndQuery = String(rest[slash...])
                if pathAndQuery.count > 1 { out = out.replacing(pathAndQuery, with: "/…") }
            }
        }
        return out
    }
}

extension HTTPError: PermanentError {
    /// Retrying the same delivery cannot help (HTTP 4xx other than 429, invalid request, TLS).
    public var isPermanent: Bool { !isRetryable && kind != .cancelled }
}
