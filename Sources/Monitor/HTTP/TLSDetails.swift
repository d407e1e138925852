internal import CCurl

/// What a TLS handshake showed of the server: the negotiated protocol version and the
/// certificates the server sent (its own first, then the intermediates it chose to send).
///
/// Read from libcurl (`CURLOPT_CERTINFO`, one list of `Name:value` lines per certificate) and,
/// for the version, from OpenSSL's connection (`ccurl_tls_version`).
public struct TLSDetails: Sendable, Hashable {
    /// One certificate of the chain.
    public struct Certificate: Sendable, Hashable {
        /// The subject, as OpenSSL prints it, e.g. `CN = localhost` or `C = US, O = Let's Encrypt, CN = R11`.
        public var subject: String
        /// The issuer, in the same form.
        public var issuer: String
        /// The end of validity (`notAfter`), Unix seconds.
        public var notAfter: Int64

        public init(subject: String, issuer: String, notAfter: Int64) {
            self.subject = subject
            self.issuer = issuer
            self.notAfter = notAfter
        }
    }

    /// The negotiated protocol, e.g. `TLSv1.3`; `nil` when it could not be read.
    public var version: String?
    /// The chain as the server sent it, its own certificate first; empty when none was read.
    public var chain: [Certificate]

    public init(version: String? = nil, chain: [Certificate] = []) {
        self.version = version
        self.chain = chain
    }

    /// The certificate of the chain that expires first: the one that ends the chain's validity.
    public var earliestExpiring: Certificate? { chain.min { $0.notAfter < $1.notAfter } }

    /// The chain from libcurl's certinfo lines, one list per certificate (`Subject:CN = a`,
    /// `Issuer:CN = b`, `Expire date:Dec  1 17:29:00 2026 GMT`, …). A certificate without a
    /// readable expiry date is left out.
    static func chain(fromCertinfo certificates: [[String]]) -> [Certificate] {
        certificates.compactMap { lines in
            var fields: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = String(line[..<colon]).lowercased()
                if fields[name] == nil { fields[name] = line[line.index(after: colon)...].trimmingSpaces }
            }
            guard let expiry = fields["expire date"], let notAfter = parseDate(expiry) else { return nil }
            return Certificate(subject: fields["subject"] ?? "", issuer: fields["issuer"] ?? "", notAfter: notAfter)
        }
    }

    /// Unix seconds from a date as OpenSSL prints it (`Dec  1 17:29:00 2026 GMT`); `nil` if unreadable.
    static func parseDate(_ text: String) -> Int64? {
        let seconds = curl_getdate(text, nil)
        return seconds == -1 ? nil : Int64(seconds)
    }
}
