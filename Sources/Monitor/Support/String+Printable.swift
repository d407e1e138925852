extension Unicode.Scalar {
    /// Whether the scalar shows as a character or a space: not a control character (CR, LF,
    /// tab, ESC, NUL, …), an invisible format character (a bidirectional override), a line or
    /// paragraph separator, a private-use, surrogate or unassigned code point.
    ///
    /// The zero-width joiner and non-joiner are printable: emoji sequences and some scripts need them.
    public var isPrintable: Bool {
        switch properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned: false
        case .format: self == "\u{200C}" || self == "\u{200D}"
        default: true
        }
    }
}

extension String {
    /// The text with every scalar that is not printable written as a Swift escape (`\n`, `\r`,
    /// `\t`, `\u{1B}`), for line-oriented output (console lines, logs, diagnostics): what a
    /// server or a config wrote stays on its line and cannot forge the next one or drive a
    /// terminal. Backslashes are left as they are.
    ///
    /// ```swift
    /// "500\r\nFAKE LOG LINE".escapingUnprintable  // 500\r\nFAKE LOG LINE, one line
    /// ```
    public var escapingUnprintable: String {
        if utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return self }
        var out = ""
        out.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            if scalar.isPrintable {
                out.unicodeScalars.append(scalar)
            } else {
                out += scalar.escaped(asASCII: true)
            }
        }
        return out
    }
}
