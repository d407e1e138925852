import Testing

@testable import Monitor

/// Certificates against real TLS servers with certificates made at test time: `download` over
/// https and `hostport` with `tls: true` and `starttls: smtp`. Valid, expiring in 3 days,
/// expired, self-signed and issued for another host name.
@Suite struct TLSCertificateTests {
    static func download(_ servers: TLSTestServers, _ name: String, _ extra: [String: JSONValue] = [:]) async throws -> CheckOutcome {
        var options: [String: JSONValue] = [
            "url": .string("https://localhost:\(servers.port(name))/healthz"), "ca_file": .string(servers.caFile), "min_cert_days": 14,
        ]
        options.merge(extra) { $1 }
        return await try DownloadCheck(options: Options(options, path: "checks.download.t")).run()
    }

    static func hostport(_ servers: TLSTestServers, _ name: String, _ extra: [String: JSONValue] = [:]) async throws -> CheckOutcome {
        var options: [String: JSONValue] = [
            "host": "localhost", "port": .int(servers.port(name)), "timeout": 10, "family": "any", "tls": true,
            "ssl": true, "ca_file": .string(servers.caFile), "min_cert_days": 14,
        ]
        options.merge(extra) { $1 }
        let check = try HostPortCheck.kind.make(CheckContext(label: "t", options: Options(options, path: "checks.hostport.t"), logger: .init(label: "test")))
        return await check.run()
    }

    /// The date `days` from now as messages show it.
    static func date(inDays days: Double) -> String {
        String(WallClock.iso8601(millis: Int64(WallClock.nowMillis()) + Int64(days * 86_400_000)).prefix(10))
    }

    @Test func aValidCertificateIsMeasured() async throws {
        try await TLSTestServers.with { servers in
            let outcome = try await Self.download(servers, "valid", ["expect_body": "healthy"])
            #expect(outcome.status == .success, "\(outcome.message)")
            #expect(outcome.message.hasSuffix("HTTP 200, certificate valid for 90 days)"), "\(outcome.message)")
            let m = outcome.measurement
            let days = try #require(m["cert_expires_days"]?.doubleValue)
            #expect(days > 90 && days <= 90.05, "\(days)")
            #expect(m["cert_subject"] == "O = healthmonitor tests, CN = localhost")
            #expect(m["cert_issuer"] == "O = healthmonitor tests, CN = healthmonitor test CA")
            #expect(m["tls_version"] == "TLSv1.3")
            #expect(abs(Double(m["cert_expires_at"]?.intValue ?? 0) - (Double(WallClock.nowMillis()) / 1000 + days * 86_400)) < 500)  // days has two decimals
            #expect((m["tls_ms"]?.doubleValue ?? 0) > 0)

            let port = try await Self.hostport(servers, "valid")
            #expect(port.status == .success, "\(port.message)")
            #expect(port.message == "Successfully connected to localhost:\(servers.port("valid")) (127.0.0.1) with TLS (TLSv1.3, certificate valid for 90 days)")
            #expect(port.measurement["connection"] == 1 && port.measurement["address"] == "127.0.0.1")
            #expect(port.measurement["cert_subject"] == "O = healthmonitor tests, CN = localhost")
            #expect(port.measurement["tls_version"] == "TLSv1.3")
            #expect((port.measurement["cert_expires_days"]?.doubleValue ?? 0) > 90)
        }
    }

    @Test func aCertificateExpiringInThreeDaysFailsBelowMinCertDays() async throws {
        try await TLSTestServers.with { servers in
            let date = Self.date(inDays: 3 + 1 / 24)
            let outcome = try await Self.download(servers, "expiring")
            #expect(outcome.message == "Failed to download the file: certificate for localhost expires in 3 days (on \(date))")
            #expect(outcome.measurement["status"] == 200)
            #expect((outcome.measurement["cert_expires_days"]?.doubleValue ?? 0) > 3)
            let port = try await Self.hostport(servers, "expiring")
            #expect(port.message == "Failed to connect to localhost:\(servers.port("expiring")): certificate for localhost expires in 3 days (on \(date))")
            #expect(port.measurement["error"] == "certificate")
            // Enough days for a lower bar.
            #expect(try await Self.download(servers, "expiring", ["min_cert_days": 2]).status == .success)
            #expect(try await Self.hostport(servers, "expiring", ["min_cert_days": 0]).status == .success)
        }
    }

    @Test func anExpiredCertificateIsNamedAsSuch() async throws {
        try await TLSTestServers.with { servers in
            let outcome = try await Self.download(servers, "expired")
            #expect(outcome.message == "Failed to download the file: certificate for localhost has expired (SSL certificate problem: certificate has expired)")
            let port = try await Self.hostport(servers, "expired")
            #expect(port.message == "Failed to connect to localhost:\(servers.port("expired")): certificate for localhost has expired (SSL certificate problem: certificate has expired)")
            #expect(port.measurement["error"] == "certificate" && port.measurement["connection"] == 0)
            // Without verification the handshake completes, and the expiry still fails the run.
            let unverified = try await Self.download(servers, "expired", ["ssl": false])
            #expect(unverified.message == "Failed to download the file: certificate for localhost expired 2 days ago (on \(Self.date(inDays: -2)))")
            #expect((unverified.measurement["cert_expires_days"]?.doubleValue ?? 0) < -1.9)
        }
    }

    @Test func aSelfSignedCertificateIsNamedAsSuch() async throws {
        try await TLSTestServers.with { servers in
            let outcome = try await Self.download(servers, "selfsigned")
            #expect(outcome.message == "Failed to download the file: certificate for localhost is self-signed, not trusted (set ca_file to trust it, or ssl: false) (SSL certificate problem: self-signed certificate)")
            let port = try await Self.hostport(servers, "selfsigned")
            #expect(port.message.hasPrefix("Failed to connect to localhost:\(servers.port("selfsigned")): certificate for localhost is self-signed"))
            let unverified = try await Self.hostport(servers, "selfsigned", ["ssl": false])
            #expect(unverified.status == .success, "\(unverified.message)")
            #expect(unverified.measurement["cert_issuer"] == "O = healthmonitor tests, CN = localhost")
        }
    }

    @Test func aCertificateForAnotherHostIsNamedAsSuch() async throws {
        try await TLSTestServers.with { servers in
            let outcome = try await Self.download(servers, "wronghost")
            #expect(outcome.message == "Failed to download the file: certificate does not match the host name localhost (SSL: no alternative certificate subject name matches target host name 'localhost')")
            let port = try await Self.hostport(servers, "wronghost")
            #expect(port.message.hasPrefix("Failed to connect to localhost:\(servers.port("wronghost")): certificate does not match the host name localhost"))
        }
    }

    /// A mail server: EHLO, STARTTLS, then the handshake and the certificate.
    @Test func smtpStartTLS() async throws {
        try await TLSTestServers.with { servers in
            let outcome = try await Self.hostport(servers, "smtp", ["tls": false, "starttls": "smtp"])
            #expect(outcome.message == "Successfully connected to localhost:\(servers.port("smtp")) (127.0.0.1) with TLS (TLSv1.3, STARTTLS smtp, certificate valid for 90 days)")
            #expect(outcome.measurement["cert_subject"] == "O = healthmonitor tests, CN = localhost")
            let expiring = try await Self.hostport(servers, "smtp_expiring", ["starttls": "smtp"])
            #expect(expiring.message.hasSuffix(": certificate for localhost expires in 3 days (on \(Self.date(inDays: 3 + 1 / 24)))"))
            let plain = try await Self.hostport(servers, "smtp_plain", ["starttls": "smtp"])
            #expect(plain.message == "Failed to connect to localhost:\(servers.port("smtp_plain")): the server does not offer STARTTLS (STARTTLS not supported.)")
            #expect(plain.measurement["error"] == "tls")
        }
    }

    @Test func aClosedTLSPortFailsAsRefused() async throws {
        try await TLSTestServers.with { servers in
            let port = try await Self.hostport(servers, "valid", ["port": 1])
            #expect(port.message == "Failed to connect to localhost:1: connection refused")
            #expect(port.measurement["error"] == "refused" && port.measurement["connection"] == 0)
        }
    }
}
