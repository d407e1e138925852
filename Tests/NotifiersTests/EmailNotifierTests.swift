import Monitor
import Testing

@testable import Notifiers

@Suite struct EmailNotifierTests {
    func settings(_ values: [String: JSONValue]) throws(ConfigDiagnostic) -> EmailNotifier.Settings {
        var all: [String: JSONValue] = ["to": ["ops@example.org"], "server": "localhost:25", "prefix": "", "verify": true, "timeout": 30, "group_seconds": 0]
        for (k, v) in values { all[k] = v }
        return try EmailNotifier.settings(Options(all, path: "notifiers.email"))
    }

    @Test(arguments: [
        ("mail.example.org:587", "mail.example.org", 587 as Int?),
        ("mail.example.org", "mail.example.org", nil),
        ("[::1]:2525", "::1", 2525),
        ("127.0.0.1:25", "127.0.0.1", 25),
    ] as [(String, String, Int?)])
    func servers(_ text: String, _ host: String, _ port: Int?) {
        let parsed = EmailNotifier.parseServer(text)
        #expect(parsed?.0 == host)
        #expect(parsed?.1 == port)
    }

    @Test(arguments: ["", ":25", "host:0", "host:70000", "host:abc", "[::1", "user@host:25", "smtp://host"])
    func badServers(_ text: String) {
        #expect(EmailNotifier.parseServer(text) == nil)
    }

    @Test func defaults() throws {
        let s = try settings([:])
        #expect(s.smtp.host == "localhost" && s.smtp.port == 25)
        #expect(s.smtp.tls == .none)
        #expect(s.smtp.verify)
        #expect(s.from.address == "healthmonitor@\(HostName.current)")
        #expect(s.groupSeconds == 0)
    }

    @Test(arguments: [
        ([:], MailTLS.none, 25),
        (["username": "u", "password": "p"], .starttls, 25),
        (["server": "smtp.example.org:465"], .ssl, 465),
        (["server": "smtp.example.org", "tls": "ssl"], .ssl, 465),
        (["server": "smtp.example.org:587", "tls": "none", "username": "u", "password": "p"], .none, 587),
        (["server": "smtp.example.org:2525", "tls": "starttls"], .starttls, 2525),
    ] as [([String: JSONValue], MailTLS, Int)])
    func tlsDefaults(_ values: [String: JSONValue], _ tls: MailTLS, _ port: Int) throws {
        let s = try settings(values)
        #expect(s.smtp.tls == tls)
        #expect(s.smtp.port == port)
        #expect(s.smtp.url.hasPrefix(tls == .ssl ? "smtps://" : "smtp://"))
    }

    @Test(arguments: [
        (["to": ["not an address"]], "to"),
        (["to": []], "to"),
        (["from": "nobody"], "from"),
        (["username": "u"], "password"),
        (["password": "p"], "username"),
        (["server": "host:99999"], "server"),
    ] as [([String: JSONValue], String)])
    func problems(_ values: [String: JSONValue], _ option: String) {
        #expect {
            _ = try settings(values)
        } throws: { error in
            (error as? ConfigDiagnostic)?.path == "notifiers.email.\(option)"
        }
    }

    @Test func passwordNeverInTheURL() throws {
        let s = try settings(["username": "user", "password": "hunter2", "server": "smtp.example.org:587"])
        #expect(s.smtp.url == "smtp://smtp.example.org:587")
    }

    @Test func ipv6ServerIsBracketed() throws {
        #expect(try settings(["server": "[::1]:2525"]).smtp.url == "smtp://[::1]:2525")
    }
}
