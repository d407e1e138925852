import Testing

@testable import Monitor

@Suite struct CertificateExpiryTests {
    static let now = 1_800_000_000.0  // 2027-01-15T08:00:00Z
    static let day = 86_400.0

    static func chain(_ leafDays: Double, intermediateDays: Double? = nil) -> TLSDetails {
        var chain = [TLSDetails.Certificate(subject: "CN = example.org", issuer: "CN = R11", notAfter: Int64(now + leafDays * day))]
        if let intermediateDays {
            chain.append(.init(subject: "CN = R11", issuer: "CN = Root X1", notAfter: Int64(now + intermediateDays * day)))
        }
        return TLSDetails(version: "TLSv1.3", chain: chain)
    }

    @Test func theMeasurementsOfAChain() {
        let m = CertificateExpiry.measurement(Self.chain(89.5, intermediateDays: 400), nowSeconds: Self.now)
        #expect(m["tls_version"] == "TLSv1.3")
        #expect(m["cert_expires_days"] == .double(89.5))
        #expect(m["cert_expires_at"] == .int(Int(Self.now + 89.5 * Self.day)))
        #expect(m["cert_subject"] == "CN = example.org")
        #expect(m["cert_issuer"] == "CN = R11")
        // The earliest of the chain counts, even when it is not the server's own.
        let early = CertificateExpiry.measurement(Self.chain(89.5, intermediateDays: 2.25), nowSeconds: Self.now)
        #expect(early["cert_expires_days"] == .double(2.25))
        #expect(early["cert_subject"] == "CN = example.org")
        #expect(CertificateExpiry.measurement(TLSDetails(), nowSeconds: Self.now).isEmpty)
    }

    @Test(arguments: [
        (90.0, 14.0, nil),
        (14.5, 14.0, nil),
        (3.04, 14.0, "certificate for example.org expires in 3 days (on 2027-01-18)"),
        (1.2, 14.0, "certificate for example.org expires in 1 day (on 2027-01-16)"),
        (0.25, 14.0, "certificate for example.org expires in 6 hours (on 2027-01-15)"),
        (-2.0, 14.0, "certificate for example.org expired 2 days ago (on 2027-01-13)"),
        (3.0, 0.0, nil),
        (-0.5, 0.0, "certificate for example.org expired 12 hours ago (on 2027-01-14)"),
    ] as [(Double, Double, String?)])
    func minCertDays(days: Double, minimum: Double, problem: String?) {
        #expect(CertificateExpiry.problem(Self.chain(days), host: "example.org", minDays: minimum, nowSeconds: Self.now) == problem)
    }

    @Test func anIntermediateThatExpiresFirstIsNamed() {
        let problem = CertificateExpiry.problem(Self.chain(80, intermediateDays: 5), host: "example.org", minDays: 14, nowSeconds: Self.now)
        #expect(problem == "certificate for example.org expires in 5 days (on 2027-01-20; it is the chain's CN = R11)")
        #expect(CertificateExpiry.validity(Self.chain(80, intermediateDays: 500), nowSeconds: Self.now) == "certificate valid for 80 days")
    }

    /// OpenSSL's words (through libcurl) for a certificate that fails verification, as plain words.
    @Test(arguments: [
        ("SSL certificate problem: certificate has expired", "certificate for h.example has expired"),
        ("SSL certificate problem: self-signed certificate", "certificate for h.example is self-signed, not trusted (set ca_file to trust it, or ssl: false)"),
        ("SSL certificate problem: self signed certificate", "certificate for h.example is self-signed, not trusted (set ca_file to trust it, or ssl: false)"),
        ("SSL certificate problem: self-signed certificate in certificate chain", "certificate for h.example is issued by a self-signed CA that is not trusted (set ca_file to trust it)"),
        ("SSL: no alternative certificate subject name matches target host name 'h.example'", "certificate does not match the host name h.example"),
        ("SSL: certificate subject name 'other' does not match target host name 'h.example'", "certificate does not match the host name h.example"),
        ("SSL certificate problem: unable to get local issuer certificate", "certificate for h.example is issued by an unknown CA (set ca_file to trust it)"),
        ("SSL certificate problem: certificate is not yet valid", "certificate for h.example is not yet valid"),
    ])
    func verificationFailuresInPlainWords(detail: String, words: String) {
        #expect(CertificateExpiry.verificationFailure(detail, host: "h.example") == words)
    }

    @Test func handshakeFailuresThatAreNotAboutTheCertificate() {
        #expect(CertificateExpiry.verificationFailure("OpenSSL SSL_connect: Connection reset by peer", host: "h") == nil)
    }

    /// libcurl's CERTINFO lines (OpenSSL backend), one list per certificate.
    @Test func theChainFromLibcurlsCertinfo() {
        let chain = TLSDetails.chain(fromCertinfo: [
            ["Subject:O = healthmonitor tests, CN = localhost", "Issuer:CN = test CA", "Version:2", "Start date:Nov 30 17:35:09 2026 GMT",
             "Expire date:Dec  4 18:35:09 2026 GMT", "Cert:-----BEGIN CERTIFICATE-----"],
            ["Subject:CN = test CA", "Issuer:CN = test CA", "Expire date:Nov 28 17:35:09 2036 GMT"],
            ["Subject:CN = no date"],
        ])
        #expect(chain.count == 2)
        #expect(chain[0] == .init(subject: "O = healthmonitor tests, CN = localhost", issuer: "CN = test CA", notAfter: 1_796_409_309))
        #expect(chain[1].notAfter == 2_111_506_509)
        #expect(TLSDetails(chain: chain).earliestExpiring == chain[0])
    }
}
