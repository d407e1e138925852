import Foundation
import Logging
import Monitor
import Testing

@testable import Notifiers

/// The `email` notifier against the project's capturing SMTP server (scripts/smtp_server.py):
/// plain, STARTTLS + AUTH, implicit TLS, grouping. Messages are read back from the JSON files
/// the server writes and parsed by Python's `email` package, an independent MIME parser.
@Suite(.needs(.smtp)) struct EmailNotifierTests {
    /// A recipient unique to one test, so tests sharing the server find their own messages.
    static func uniqueRecipient(_ tag: String) -> String { "\(tag)-\(ResultID.next())@example.org" }

    static func result(_ label: String, _ status: Status = .failure, message: String = "0/5 packets received") -> CheckResult {
        CheckResult(
            status: status, check: "ping", label: label, message: message,
            measurement: ["loss": 100.0, "sent": 5, "reachable": false], elapsed: 4.25,
            config: ["host": "clowder.example.org", "count": 5, "password": .string(SecretMasking.mask)], host: "monitor1")
    }

    static func notifier(_ options: [String: JSONValue]) throws -> EmailNotifier {
        var all: [String: JSONValue] = ["prefix": "[HEALTH]", "verify": true, "timeout": 20, "group_seconds": 0]
        for (k, v) in options { all[k] = v }
        return try EmailNotifier(
            context: NotifierContext(
                name: "email", options: Options(all, path: "notifiers.email"), logger: Logger(label: "test.email"),
                stateDirectory: NSTemporaryDirectory()))
    }

    @Test func plainMessageEnvelopeHeadersAndBothBodies() async throws {
        let host = try TestServers.value("HM_SMTP_HOST")
        let port = try TestServers.value("HM_SMTP_PLAIN_PORT")
        let directory = try TestServers.value("HM_SMTP_DIR")
        let to = Self.uniqueRecipient("plain")
        let email = try Self.notifier([
            "server": .string("\(host):\(port)"), "to": [.string("Ops Team <\(to)>"), "second@example.org"],
            "from": "Health Monitör <hm@monitor.example.org>",
        ])
        let result = Self.result("clowder ✓", message: "Prüfung: 0/5 packets <lost> & \"gone\"")
        let before = Int64(WallClock.nowMillis()) / 1000
        try await email.send([Delivery(result: result, reason: .failure)])
        await email.shutdown()

        let stored = try await SMTPCapture.messages(in: directory, to: to, count: 1)[0]
        #expect(stored.mailFrom == "hm@monitor.example.org")
        #expect(stored.rcptTos == [to, "second@example.org"])
        #expect(stored.port == Int(port))
        #expect(stored.tls == false)
        #expect(stored.authUser == nil)

        let mail = try MIMEParser.parse(stored.data)
        #expect(mail.defects.isEmpty, "MIME defects: \(mail.defects)")
        #expect(mail.headers["From"] == "Health Monitör <hm@monitor.example.org>")
        #expect(mail.headers["To"] == "Ops Team <\(to)>, second@example.org")
        #expect(mail.headers["Subject"] == "[HEALTH] FAILURE ping/clowder ✓: Prüfung: 0/5 packets <lost> & \"gone\"")
        #expect(mail.headers["MIME-Version"] == "1.0")
        #expect(mail.headers["Message-ID"]?.hasSuffix("@monitor.example.org>") == true)
        #expect(mail.headers["Message-ID"]?.hasPrefix("<") == true)
        #expect(mail.dateEpoch.map { $0 >= before - 1 && $0 <= before + 60 } == true, "Date: \(mail.headers["Date"] ?? "-")")
        #expect(mail.contentType == "multipart/alternative")
        #expect(mail.parts.map(\.type) == ["text/plain", "text/html"])
        #expect(mail.parts.allSatisfy { $0.charset == "utf-8" })

        let plain = mail.parts[0].text
        #expect(plain.hasPrefix("The following checks are now failing:\n\n- ping/clowder ✓: Prüfung: 0/5 packets <lost> & \"gone\"\n"))
        #expect(plain.contains("  measurements: loss = 100.0, reachable = false, sent = 5\n"))
        #expect(plain.contains("  time: \(result.created), host: monitor1, took 4.250 s\n"))
        #expect(plain.contains("The configuration for \"ping/clowder ✓\" is:\n- count = 5\n- host = clowder.example.org\n- password = ********\n"))

        let html = mail.parts[1].text
        #expect(html.contains("<td>ping/clowder ✓</td>"))
        #expect(html.contains("<td>Prüfung: 0/5 packets &lt;lost&gt; &amp; &quot;gone&quot;</td>"))
        #expect(html.contains("<th align=\"left\">host</th><td>clowder.example.org</td>"))
        #expect(!html.contains("<lost>"))
    }

    @Test func starttlsWithAuthAndVerificationOff() async throws {
        let host = try TestServers.value("HM_SMTP_HOST")
        let port = try TestServers.value("HM_SMTP_PORT")
        let directory = try TestServers.value("HM_SMTP_DIR")
        let user = try TestServers.value("HM_SMTP_USER")
        let password = try TestServers.value("HM_SMTP_PASSWORD")
        let to = Self.uniqueRecipient("starttls")
        let email = try Self.notifier([
            "server": .string("\(host):\(port)"), "to": [.string(to)], "from": "hm@example.org",
            "username": .string(user), "password": .string(password), "verify": false,
        ])
        #expect(email.settings.smtp.tls == .starttls)  // the default with a username
        try await email.send([Delivery(result: Self.result("tls"), reason: .failure)])
        await email.shutdown()
        let stored = try await SMTPCapture.messages(in: directory, to: to, count: 1)[0]
        #expect(stored.tls == true)
        #expect(stored.authUser == user)
        #expect(stored.port == Int(port))
    }

    @Test func starttlsVerifiesAgainstTheGivenCA() async throws {
        let host = try TestServers.value("HM_SMTP_HOST")
        let port = try TestServers.value("HM_SMTP_PORT")
        let directory = try TestServers.value("HM_SMTP_DIR")
        let caFile = try TestServers.value("HM_SMTP_CA_FILE")
        let to = Self.uniqueRecipient("verified")
        let email = try Self.notifier([
            "server": .string("\(host):\(port)"), "to": [.string(to)], "from": "hm@example.org",
            "tls": "starttls", "ca_file": .string(caFile),
        ])
        try await email.send([Delivery(result: Self.result("verified"), reason: .failure)])
        await email.shutdown()
        let stored = try await SMTPCapture.messages(in: directory, to: to, count: 1)[0]
        #expect(stored.tls == true)
    }

    @Test func selfSignedCertificateIsRejectedWhenVerifying() async throws {
        let host = try TestServers.value("HM_SMTP_HOST")
        let port = try TestServers.value("HM_SMTP_PORT")
        let email = try Self.notifier([
            "server": .string("\(host):\(port)"), "to": ["x@example.org"], "from": "hm@example.org", "tls": "starttls",
        ])
        // CURLE_PEER_FAILED_VERIFICATION: the self-signed certificate is not trusted.
        await #expect {
            try await email.send([Delivery(result: Self.result("unverified"), reason: .failure)])
        } throws: { ($0 as? SMTPError)?.curlCode == 60 }
        await email.shutdown()
    }

    @Test func starttlsIsRequiredNotOptional() async throws {
        let host = try TestServers.value("HM_SMTP_HOST")
        let port = try TestServers.value("HM_SMTP_PLAIN_PORT")
        let email = try Self.notifier([
            "server": .string("\(host):\(port)"), "to": ["x@example.org"], "from": "hm@example.org", "tls": "starttls",
            "verify": false,
        ])
        // CURLE_USE_SSL_FAILED: the server does not offer STARTTLS, so nothing is sent in clear.
        await #expect {
            try await email.send([Delivery(result: Self.result("no-starttls"), reason: .failure)])
        } throws: { ($0 as? SMTPError)?.curlCode == 64 }
        await email.shutdown()
    }

    @Test func wrongPasswordFailsWithoutRevealingIt() async throws {
        let host = try TestServers.value("HM_SMTP_HOST")
        let port = try TestServers.value("HM_SMTP_PORT")
        let user = try TestServers.value("HM_SMTP_USER")
        let email = try Self.notifier([
            "server": .string("\(host):\(port)"), "to": ["x@example.org"], "from": "hm@example.org",
            "username": .string(user), "password": "wrong-Pa55word", "verify": false,
        ])
        do {
            try await email.send([Delivery(result: Self.result("badauth"), reason: .failure)])
            Issue.record("a wrong password was accepted")
        } catch let error as SMTPError {
            #expect(error.replyCode == 535)
            #expect(error.isPermanent)
            #expect(!error.description.contains("wrong-Pa55word"))
        }
        await email.shutdown()
    }

    @Test func implicitTLSWithAuth() async throws {
        let host = try TestServers.value("HM_SMTP_HOST")
        let port = try TestServers.value("HM_SMTPS_PORT")
        let directory = try TestServers.value("HM_SMTP_DIR")
        let user = try TestServers.value("HM_SMTP_USER")
        let password = try TestServers.value("HM_SMTP_PASSWORD")
        let to = Self.uniqueRecipient("smtps")
        let email = try Self.notifier([
            "server": .string("\(host):\(port)"), "to": [.string(to)], "from": "hm@example.org", "tls": "ssl",
            "username": .string(user), "password": .string(password), "verify": false,
        ])
        try await email.send([Delivery(result: Self.result("smtps"), reason: .failure)])
        await email.shutdown()
        let stored = try await SMTPCapture.messages(in: directory, to: to, count: 1)[0]
        #expect(stored.tls == true)
        #expect(stored.authUser == user)
    }

    @Test func resultsWithinTheWindowBecomeOneMessage() async throws {
        let host = try TestServers.value("HM_SMTP_HOST")
        let port = try TestServers.value("HM_SMTP_PLAIN_PORT")
        let directory = try TestServers.value("HM_SMTP_DIR")
        let to = Self.uniqueRecipient("group")
        let email = try Self.notifier([
            "server": .string("\(host):\(port)"), "to": [.string(to)], "from": "hm@example.org", "group_seconds": 3,
        ])
        let runner = Task { try await email.run() }
        // Three deliveries of 50 results, as the core would hand them over during an outage.
        let labels = (0..<50).map { "service-\($0)" }
        let start = ContinuousClock.now
        for chunk in stride(from: 0, to: 50, by: 20) {
            let batch = labels[chunk..<min(chunk + 20, 50)].map {
                Delivery(result: Self.result($0, $0 == "service-7" ? .success : .failure), reason: $0 == "service-7" ? .recovery : .failure)
            }
            try await email.send(batch)  // well within the window, even on a loaded machine
        }
        let messages = try await SMTPCapture.messages(in: directory, to: to, count: 1, timeout: 15)
        #expect(ContinuousClock.now - start >= .seconds(2.9), "mailed before the window closed")
        // Nothing more arrives: the 50 results were one e-mail.
        try await Task.sleep(for: .seconds(2))
        #expect(try SMTPCapture.stored(in: directory).filter { $0.rcptTos.contains(to) }.count == 1)
        await email.shutdown()
        runner.cancel()

        let mail = try MIMEParser.parse(messages[0].data)
        #expect(mail.headers["Subject"] == "[HEALTH] 50 results: 49 failing, 1 successful")
        let plain = mail.parts[0].text
        for label in labels {
            #expect(plain.contains("- ping/\(label): "), "\(label) missing")
        }
        let failing = try #require(plain.range(of: "The following checks are now failing:"))
        let successful = try #require(plain.range(of: "The following checks are now successful:\n\n- ping/service-7: "))
        #expect(failing.lowerBound < successful.lowerBound)
        #expect(mail.parts[1].text.components(separatedBy: "<td>ping/service-").count - 1 == 50)
    }

    @Test func shutdownMailsAnOpenGroupAtOnce() async throws {
        let host = try TestServers.value("HM_SMTP_HOST")
        let port = try TestServers.value("HM_SMTP_PLAIN_PORT")
        let directory = try TestServers.value("HM_SMTP_DIR")
        let to = Self.uniqueRecipient("flush")
        let email = try Self.notifier([
            "server": .string("\(host):\(port)"), "to": [.string(to)], "from": "hm@example.org", "group_seconds": 600,
        ])
        let runner = Task { try await email.run() }
        try await email.send([Delivery(result: Self.result("a"), reason: .failure), Delivery(result: Self.result("b"), reason: .failure)])
        let start = ContinuousClock.now
        await email.shutdown()
        runner.cancel()
        let messages = try await SMTPCapture.messages(in: directory, to: to, count: 1, timeout: 30)
        // Far below the 600 s group window: shutdown mailed the open group at once.
        #expect(ContinuousClock.now - start < .seconds(30))
        #expect(try MIMEParser.parse(messages[0].data).headers["Subject"] == "[HEALTH] 2 results: 2 failing")
    }
}

/// Messages stored by scripts/smtp_server.py, one JSON file each.
enum SMTPCapture {
    struct Stored {
        var mailFrom: String
        var rcptTos: [String]
        var data: String
        var port: Int
        var authUser: String?
        var tls: Bool
    }

    struct Timeout: Error, CustomStringConvertible {
        var description: String
    }

    static func stored(in directory: String) throws -> [Stored] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
        return try names.map { name in
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
            let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            return Stored(
                mailFrom: object["mail_from"] as? String ?? "", rcptTos: object["rcpt_tos"] as? [String] ?? [],
                data: object["data"] as? String ?? "", port: object["port"] as? Int ?? 0,
                authUser: object["auth_user"] as? String, tls: object["tls"] as? Bool ?? false)
        }
    }

    /// Waits until `count` messages for `recipient` have arrived.
    static func messages(in directory: String, to recipient: String, count: Int, timeout: Double = 10) async throws -> [Stored] {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while true {
            let found = try stored(in: directory).filter { $0.rcptTos.contains(recipient) }
            if found.count >= count { return found }
            if ContinuousClock.now > deadline {
                throw Timeout(description: "\(found.count) of \(count) messages to \(recipient) arrived within \(timeout) s")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// Parses a message with Python's `email` package (policy `default`: RFC 2047 decoded, bodies
/// decoded from their transfer encoding), an implementation independent of ours.
enum MIMEParser {
    struct Part {
        var type: String
        var charset: String?
        var text: String
    }

    struct Message {
        var headers: [String: String]
        var contentType: String
        var parts: [Part]
        var defects: [String]
        var dateEpoch: Int64?
    }

    static let script = """
        import email, email.policy, email.utils, json, sys
        raw = sys.stdin.buffer.read()
        m = email.message_from_bytes(raw, policy=email.policy.default)
        defects = [repr(d) for d in m.defects]
        parts = []
        for p in (m.iter_parts() if m.is_multipart() else [m]):
            defects += [repr(d) for d in p.defects]
            parts.append({"type": p.get_content_type(), "charset": p.get_content_charset(), "text": p.get_content().replace("\\r\\n", "\\n")})
        headers = {k: str(v) for k, v in m.items()}
        date = m["Date"]
        print(json.dumps({"headers": headers, "content_type": m.get_content_type(), "parts": parts,
            "defects": defects, "date": int(date.datetime.timestamp()) if date and date.datetime else None}))
        """

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ data: String) throws -> Message {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(data.utf8))
        try input.fileHandleForWriting.close()
        let json = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        else { throw Failure(description: "python email parser failed (\(process.terminationStatus))") }
        let parts = (object["parts"] as? [[String: Any]] ?? []).map {
            Part(type: $0["type"] as? String ?? "", charset: $0["charset"] as? String, text: $0["text"] as? String ?? "")
        }
        return Message(
            headers: object["headers"] as? [String: String] ?? [:], contentType: object["content_type"] as? String ?? "",
            parts: parts, defects: object["defects"] as? [String] ?? [],
            dateEpoch: (object["date"] as? Int).map(Int64.init))
    }
}
