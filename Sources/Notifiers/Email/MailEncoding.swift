import Monitor

/// The MIME encodings an e-mail needs: quoted-printable bodies (RFC 2045), encoded-word headers
/// (RFC 2047), RFC 5322 dates and HTML escaping. Pure functions, no I/O.
enum MailEncoding {
    /// Quoted-printable text with CRLF line ends: `\n` in `text` becomes a hard line break, lines
    /// longer than 76 characters get soft breaks, and `=`, control characters, bytes of non-ASCII
    /// characters and a trailing space or tab are escaped. A dot starting a line is escaped too,
    /// so no line can be read as SMTP's end of data.
    static func quotedPrintable(_ text: String) -> String {
        var out = ""
        let lines = text.replacingCRLF().split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            if index > 0 { out += "\r\n" }
            let bytes = Array(line.utf8)
            var column = 0
            for (position, byte) in bytes.enumerated() {
                let isLast = position == bytes.count - 1
                let literal: Bool
                switch byte {
                case 0x3D: literal = false  // "="
                case 0x2E: literal = column != 0  // "." at line start
                case 0x20, 0x09: literal = !isLast
                case 0x21...0x7E: literal = true
                default: literal = false
                }
                let piece = literal ? String(UnicodeScalar(byte)) : "=" + hex(byte)
                // Keep room for the soft break "=" within 76 characters, except on the last piece.
                let limit = isLast ? 76 : 75
                if column + piece.count > limit {
                    out += "=\r\n"
                    column = 0
                    if byte == 0x2E {  // the dot now starts a line
                        out += "=2E"
                        column = 3
                        continue
                    }
                }
                out += piece
                column += piece.count
            }
        }
        return out
    }

    /// A header value, as RFC 2047 encoded words (`=?UTF-8?B?…?=`, folded) when it holds anything
    /// but printable ASCII or is too long for one line; as is otherwise. Line breaks become spaces
    /// first, so user text can never start a new header.
    static func headerText(_ text: String, nameLength: Int) -> String {
        let flat = String(text.unicodeScalars.map { $0 == "\r" || $0 == "\n" || $0 == "\t" ? " " : Character($0) })
        let printable = flat.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        if printable && flat.utf8.count + nameLength + 2 <= 78 && !flat.contains("=?") { return flat }
        return encodedWords(flat)
    }

    /// Encoded words of at most 75 characters each, split between Unicode scalars (never inside
    /// a UTF-8 sequence), joined by folding whitespace.
    static func encodedWords(_ text: String) -> String {
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            // 45 bytes encode to 60 base64 characters: 12 + 60 = 72 ≤ 75.
            if chunk.count + bytes.count > 45 {
                words.append("=?UTF-8?B?" + Base64.encode(chunk) + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?" + Base64.encode(chunk) + "?=") }
        return words.joined(separator: "\r\n ")
    }

    /// A mailbox for a header: `Name <addr>`, with the display name quoted or encoded as needed.
    static func mailboxHeader(_ address: MailAddress) -> String {
        guard let name = address.displayName, !name.isEmpty else { return address.address }
        if !name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return encodedWords(name) + " <" + address.address + ">"
        }
        let specials = Set("()<>[]:;@\\,.\"")
        if name.contains(where: { specials.contains($0) }) {
            let escaped = name.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            return "\"" + escaped + "\" <" + address.address + ">"
        }
        return name + " <" + address.address + ">"
    }

    /// RFC 5322 date in UTC, e.g. `Wed, 25 Nov 2026 13:05:09 +0000`, for Unix milliseconds.
    static func rfc5322Date(millis: Int64) -> String {
        WallClock.internetDate(millis: millis, zone: "+0000", padDay: false)
    }

    /// Text safe inside HTML elements and attribute values.
    static func html(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
    }
}

extension String {
    /// `\r\n` and lone `\r` as `\n`.
    func replacingCRLF() -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        var previousCR = false
        for scalar in unicodeScalars {
            if scalar == "\r" {
                out += "\n"
                previousCR = true
                continue
            }
            if scalar == "\n" && previousCR {
                previousCR = false
                continue
            }
            previousCR = false
            out.unicodeScalars.append(scalar)
        }
        return out
    }
}
