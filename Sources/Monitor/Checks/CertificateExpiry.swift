/// The certificate side of the `download` and `hostport` (`tls: true`) checks: the measurements
/// a TLS connection gives, the `min_cert_days` rule, and plain words for a certificate that
/// failed verification.
public enum CertificateExpiry {
    /// `min_cert_days`, shared by both checks.
    public static let minDaysOption = OptionSpec(
        "min_cert_days", .number(0...36_500), default: 14,
        help: "fail when the earliest certificate of the chain expires in fewer days (0: only once expired)")
    /// `ca_file`, shared by both checks.
    public static let caFileOption = OptionSpec("ca_file", .string, help: "PEM file of CA certificates to trust instead of the system's")

    /// `tls_version`, and of the chain the server sent: `cert_expires_days` (days left, two
    /// decimals, negative once expired) and `cert_expires_at` (Unix seconds) of the certificate
    /// that expires first, `cert_subject` and `cert_issuer` of the server's own certificate.
    public static func measurement(_ tls: TLSDetails, nowSeconds: Double) -> [String: JSONValue] {
        var m: [String: JSONValue] = [:]
        if let version = tls.version { m["tls_version"] = .string(version) }
        if let earliest = tls.earliestExpiring {
            m["cert_expires_days"] = .double(((Double(earliest.notAfter) - nowSeconds) / 86_400 * 100).rounded() / 100)
            m["cert_expires_at"] = .int(Int(earliest.notAfter))
        }
        if let leaf = tls.chain.first {
            m["cert_subject"] = .string(leaf.subject)
            m["cert_issuer"] = .string(leaf.issuer)
        }
        return m
    }

    /// Why the chain fails `minDays` at `nowSeconds`, e.g. `certificate for example.org expires
    /// in 3 days (on 2026-12-04)`; `nil` when it passes or no certificate was read.
    public static func problem(_ tls: TLSDetails, host: String, minDays: Double, nowSeconds: Double) -> String? {
        guard let earliest = tls.earliestExpiring else { return nil }
        let left = Double(earliest.notAfter) - nowSeconds
        guard left < minDays * 86_400 || left <= 0 else { return nil }
        let date = String(WallClock.iso8601(millis: earliest.notAfter * 1000).prefix(10))
        // An intermediate that expires before the server's own certificate is named.
        let which = earliest == tls.chain.first || tls.chain.count < 2 ? "" : "; it is the chain's \(earliest.subject)"
        if left <= 0 { return "certificate for \(host) expired \(span(-left)) ago (on \(date)\(which))" }
        return "certificate for \(host) expires in \(span(left)) (on \(date)\(which))"
    }

    /// `certificate valid for 89 days`, for success messages.
    public static func validity(_ tls: TLSDetails, nowSeconds: Double) -> String? {
        guard let earliest = tls.earliestExpiring else { return nil }
        return "certificate valid for \(span(Double(earliest.notAfter) - nowSeconds))"
    }

    /// Whole days, floored (`2 days` for 2 days 23 hours, `1 day`); below a day, hours.
    static func span(_ seconds: Double) -> String {
        if seconds >= 86_400 {
            let days = Int(seconds / 86_400)
            return days == 1 ? "1 day" : "\(days) days"
        }
        let hours = max(1, Int(seconds / 3600))
        return hours == 1 ? "1 hour" : "\(hours) hours"
    }

    /// Plain words for a certificate that failed verification, from libcurl's (OpenSSL's) text:
    /// `certificate for example.org has expired`; `nil` when the text names no certificate problem.
    public static func verificationFailure(_ detail: String, host: String) -> String? {
        let text = detail.lowercased()
        if text.contains("certificate has expired") { return "certificate for \(host) has expired" }
        if text.contains("not yet valid") { return "certificate for \(host) is not yet valid" }
        if text.contains("self-signed certificate in certificate chain") || text.contains("self signed certificate in certificate chain") {
            return "certificate for \(host) is issued by a self-signed CA that is not trusted (set ca_file to trust it)"
        }
        if text.contains("self-signed certificate") || text.contains("self signed certificate") {
            return "certificate for \(host) is self-signed, not trusted (set ca_file to trust it, or ssl: false)"
        }
        if text.contains("does not match target host name") || text.contains("no alternative certificate subject name matches") {
            return "certificate does not match the host name \(host)"
        }
        if text.contains("unable to get local issuer certificate") || text.contains("unable to get issuer certificate") {
            return "certificate for \(host) is issued by an unknown CA (set ca_file to trust it)"
        }
        if text.contains("certificate revoked") { return "certificate for \(host) is revoked" }
        return nil
    }
}
