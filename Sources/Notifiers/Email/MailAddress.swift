/// An e-mail address as written in the config: `ops@example.org` or `Ops Team <ops@example.org>`.
struct MailAddress: Sendable, Hashable {
    /// The part for the SMTP envelope, e.g. `ops@example.org`.
    var address: String
    /// The optional display name, e.g. `Ops Team`.
    var displayName: String?

    /// Parses `text`, or returns `nil` when it holds no plausible address (no `@`, spaces or
    /// line breaks in the address, unbalanced angle brackets).
    init?(_ text: String) {
        let trimmed = text.trimmingWhitespace
        if trimmed.contains(where: { $0 == "\r" || $0 == "\n" }) { return nil }
        if let open = trimmed.lastIndex(of: "<") {
            guard trimmed.last == ">" else { return nil }
            address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]).trimmingWhitespace
            var name = String(trimmed[..<open]).trimmingWhitespace
            if name.count >= 2 && name.first == "\"" && name.last == "\"" {
                name = String(name.dropFirst().dropLast())
            }
            displayName = name.isEmpty ? nil : name
        } else {
            address = trimmed
            displayName = nil
        }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            !address.contains(where: { $0 == " " || $0 == "<" || $0 == ">" || $0 == "\t" })
        else { return nil }
    }

    /// The domain part, e.g. `example.org`.
    var domain: String { String(address[address.index(after: address.lastIndex(of: "@")!)...]) }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
