/// One HTTP request for `HTTPClient`: what to send, how long to wait, and what to do with the
/// response body.
///
/// ```swift
/// var request = HTTPRequest(url: "https://example.org/big.iso", timeout: 30)
/// request.responseBody = .discard   // count the bytes, keep none
/// request.maxBytes = 100_000_000    // stop after 100 MB; still a success
/// let response = try await HTTPClient.shared.execute(request)
/// ```
public struct HTTPRequest: Sendable {
    /// What the client does with the bytes of the response body.
    public enum BodyHandling: Sendable, Hashable {
        /// Count the bytes and drop them: memory stays flat whatever the size of the body.
        case discard
        /// Keep the first `limit` bytes (API replies, error bodies for logs) and count the rest.
        case collect(limit: Int)
    }

    /// `GET`, `POST`, `PUT`, `HEAD`, …
    public var method: String
    /// An `http://` or `https://` URL. It may hold secrets (webhook paths, tokens): the client
    /// never logs it, and its errors name the host only.
    public var url: String
    /// Request headers in order. Values may be secrets and are never logged.
    public var headers: [(name: String, value: String)]
    /// The request body (sent for any method when not empty, and always for `POST`).
    public var body: [UInt8]
    /// Seconds the whole transfer may take, connect to last byte; `0` waits forever.
    public var timeout: Double
    /// Seconds the TCP (and TLS) connect may take; `0` uses libcurl's default (300 s).
    public var connectTimeout: Double
    /// Whether to verify the server's certificate and host name.
    public var verifyTLS: Bool
    /// A PEM file of CA certificates to trust instead of the system store.
    public var caFile: String?
    /// Whether to follow `Location:` redirects (http and https only).
    public var followRedirects: Bool
    /// The most redirects followed before the request fails.
    public var maxRedirects: Int
    /// Keep or count-and-drop the response body.
    public var responseBody: BodyHandling
    /// Stop reading the body after this many bytes; the transfer then still counts as a success.
    public var maxBytes: Int64?
    /// Open a new connection instead of reusing a pooled one (so DNS and connect times are
    /// measured on every run, as the `download` check wants).
    public var freshConnection: Bool
    /// Looked for in the body as it streams by (`HTTPResponse.bodyMatched`); the body's first
    /// bytes are then kept too (`HTTPResponse.bodyPreview`).
    public var bodyPattern: BodyPattern?
    /// Read the server's certificate chain and the TLS version (`HTTPResponse.tls`).
    public var inspectTLS: Bool = false
    /// Connect (TCP, TLS, and for `smtp://` the greeting and `STARTTLS`), then stop: no request
    /// is sent. For `https://` (any TLS port), `smtps://` and `smtp://` URLs.
    public var connectOnly: Bool = false
    /// Fail unless the connection is upgraded to TLS (`smtp://`: `STARTTLS` is required).
    public var requireTLS: Bool = false
    /// Which addresses of the host to use.
    public var addressPreference: AddressPreference = .any

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        timeout: Double = 30, connectTimeout: Double = 0, verifyTLS: Bool = true, caFile: String? = nil,
        followRedirects: Bool = false, maxRedirects: Int = 10, responseBody: BodyHandling = .collect(limit: 64 * 1024),
        maxBytes: Int64? = nil, freshConnection: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.verifyTLS = verifyTLS
        self.caFile = caFile
        self.followRedirects = followRedirects
        self.maxRedirects = maxRedirects
        self.responseBody = responseBody
        self.maxBytes = maxBytes
        self.freshConnection = freshConnection
    }

    /// A JSON `POST` (`Content-Type: application/json`), the shape every webhook takes.
    public static func postJSON(
        _ json: String, to url: String, headers: [(name: String, value: String)] = [], timeout: Double = 30
    ) -> HTTPRequest {
        HTTPRequest(
            method: "POST", url: url, headers: [("Content-Type", "application/json")] + headers,
            body: Array(json.utf8), timeout: timeout)
    }

    /// The host of `url` (no user information, no port), the only part of a URL that may appear
    /// in logs and errors; `"?"` when the URL cannot be parsed.
    public var host: String { Self.host(of: url) }

    /// The host part of `url`: `https://user:pw@hooks.slack.com:443/services/T/B/X` → `hooks.slack.com`.
    public static func host(of url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return "?" }
        let rest = url[schemeEnd.upperBound...]
        var authority = rest[..<(rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex)]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[...close])
        }
        if let colon = authority.firstIndex(of: ":") { authority = authority[..<colon] }
        return authority.isEmpty ? "?" : String(authority)
    }
}
