import Testing

@testable import Notifiers

@Suite struct MailEncodingTests {
    /// Decodes quoted-printable text (test oracle, written from RFC 2045 §6.7).
    static func decodeQuotedPrintable(_ text: String) -> String {
        var bytes: [UInt8] = []
        let input = Array(text.utf8)
        var i = 0
        while i < input.count {
            let b = input[i]
            if b == UInt8(ascii: "=") {
                if i + 2 < input.count && input[i + 1] == 13 && input[i + 2] == 10 {
                    i += 3
                    continue
                }
                let hex = String(decoding: input[(i + 1)...(i + 2)], as: UTF8.self)
                bytes.append(UInt8(hex, radix: 16)!)
                i += 3
                continue
            }
            if b == 13 && i + 1 < input.count && input[i + 1] == 10 {
                bytes.append(10)
                i += 2
                continue
            }
            bytes.append(b)
            i += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test(arguments: [
        "plain ascii line",
        "a = b and c=d",
        "trailing space \nand tab\t\nend",
        ".starts with a dot\n.\n..",
        "Ünïcödé ✓ 日本語 🚑 text",
        String(repeating: "x", count: 200),
        String(repeating: "é", count: 100),
        String(repeating: "abc ", count: 60) + "\n" + String(repeating: ".", count: 160),
        "",
    ])
    func quotedPrintableRoundTrips(_ text: String) {
        let encoded = MailEncoding.quotedPrintable(text)
        #expect(Self.decodeQuotedPrintable(encoded) == text)
        for line in encoded.split(separator: "\r\n", omittingEmptySubsequences: false) {
            #expect(line.utf8.count <= 76, "line too long: \(line)")
            #expect(line.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "non-printable in \(line)")
            #expect(!line.hasPrefix("."), "a line starts with a dot: \(line)")
            #expect(!line.hasSuffix(" ") && !line.hasSuffix("\t"))
        }
        #expect(!encoded.contains("=_"))
    }

    @Test func quotedPrintableExamples() {
        #expect(MailEncoding.quotedPrintable("a=b") == "a=3Db")
        #expect(MailEncoding.quotedPrintable("café") == "caf=C3=A9")
        #expect(MailEncoding.quotedPrintable("x \ny") == "x=20\r\ny")
        #expect(MailEncoding.quotedPrintable("one\r\ntwo") == "one\r\ntwo")
    }

    @Test func asciiSubjectStaysReadable() {
        #expect(MailEncoding.headerText("[HEALTH] FAILURE ping/clowder", nameLength: 7) == "[HEALTH] FAILURE ping/clowder")
    }

    @Test func lineBreaksCannotInjectHeaders() {
        let header = MailEncoding.headerText("ok\r\nBcc: victim@example.org", nameLength: 7)
        #expect(!header.contains("\r\nBcc"))
        #expect(header == "ok  Bcc: victim@example.org")
    }

    @Test(arguments: ["Ausfall: Prüfung fehlgeschlagen", "🚑 " + String(repeating: "日本", count: 40), String(repeating: "long ascii ", count: 12)])
    func encodedWords(_ text: String) {
        let header = MailEncoding.headerText(text, nameLength: 7)
        var decoded: [UInt8] = []
        for word in header.split(separator: "\r\n ") {
            #expect(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
            #expect(word.utf8.count <= 75)
            decoded += Self.decodeBase64(String(word.dropFirst(10).dropLast(2)))
            // Each word holds whole characters (RFC 2047 §5).
            #expect(String(validating: Self.decodeBase64(String(word.dropFirst(10).dropLast(2))), as: UTF8.self) != nil)
        }
        #expect(String(decoding: decoded, as: UTF8.self) == text)
    }

    static func decodeBase64(_ text: String) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for c in text.utf8 where c != UInt8(ascii: "=") {
            buffer = buffer << 6 | UInt32(alphabet.firstIndex(of: c)!)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return out
    }

    @Test(arguments: [
        (Int64(0), "Thu, 1 Jan 1970 00:00:00 +0000"),
        (Int64(1_795_611_909_042), "Wed, 25 Nov 2026 13:05:09 +0000"),
        (Int64(951_782_400_000), "Tue, 29 Feb 2000 00:00:00 +0000"),
        (Int64(-1000), "Wed, 31 Dec 1969 23:59:59 +0000"),
    ])
    func dates(_ millis: Int64, _ text: String) {
        #expect(MailEncoding.rfc5322Date(millis: millis) == text)
    }

    @Test func htmlEscaping() {
        #expect(MailEncoding.html("<b>\"Tom\" & 'Jerry'</b>") == "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;")
    }

    @Test func mailboxes() {
        #expect(MailEncoding.mailboxHeader(MailAddress("ops@example.org")!) == "ops@example.org")
        #expect(MailEncoding.mailboxHeader(MailAddress("Ops Team <ops@example.org>")!) == "Ops Team <ops@example.org>")
        #expect(MailEncoding.mailboxHeader(MailAddress("\"Doe, Jane\" <jd@example.org>")!) == "\"Doe, Jane\" <jd@example.org>")
        #expect(MailEncoding.mailboxHeader(MailAddress("Jürgen <j@example.org>")!) == "=?UTF-8?B?SsO8cmdlbg==?= <j@example.org>")
    }
}
