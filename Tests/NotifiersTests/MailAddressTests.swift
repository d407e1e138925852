import Testing

@testable import Notifiers

@Suite struct MailAddressTests {
    @Test(arguments: [
        ("ops@example.org", "ops@example.org", nil),
        ("  Ops Team <ops@example.org> ", "ops@example.org", "Ops Team"),
        ("\"Doe, Jane\" <jd@example.org>", "jd@example.org", "Doe, Jane"),
        ("<bare@example.org>", "bare@example.org", nil),
    ] as [(String, String, String?)])
    func parses(_ text: String, _ address: String, _ name: String?) {
        let parsed = MailAddress(text)
        #expect(parsed?.address == address)
        #expect(parsed?.displayName == name)
    }

    @Test(arguments: ["", "no-at-sign", "a@b@c", "@example.org", "user@", "Name <user@example.org", "a b@example.org", "x@example.org\r\nBcc: y@example.org"])
    func rejects(_ text: String) {
        #expect(MailAddress(text) == nil)
    }

    @Test func domain() {
        #expect(MailAddress("Ops <ops@mail.example.org>")?.domain == "mail.example.org")
    }
}
