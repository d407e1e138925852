internal import CLinux

/// What to look for in a response body while it streams by (`download`'s `expect_body`).
public enum BodyPattern: Sendable {
    /// These bytes, anywhere in the body (case-sensitive).
    case substring(String)
    /// A match of the regular expression anywhere in the body, seen in windows (see
    /// `BodyScanner`). Kept as text: `Regex` is not `Sendable`, so each transfer compiles its
    /// own (microseconds, once per run); `compile` checks it when the config is loaded.
    case regex(String)

    /// The regular expression `source` compiled as a body is searched (`^` and `$` match at
    /// line ends too), or why it is not one.
    public static func compile(_ source: String) throws -> Regex<AnyRegexOutput> {
        try Regex(source).anchorsMatchLineEndings()
    }

    /// `"healthy"` or `regex /^ok$/`, for messages.
    public var description: String {
        switch self {
        case .substring(let text): "\"\(BodyExcerpt.truncated(text))\""
        case .regex(let source): "regex /\(BodyExcerpt.truncated(source))/"
        }
    }
}

/// Looks for a `BodyPattern` in a body given in chunks, keeping a bounded amount of it: a
/// substring needs its length less one byte carried between chunks; a regex sees the body in
/// windows of `window` bytes that overlap by `overlap` bytes, so any match of at most `overlap`
/// bytes is found wherever it lies, and memory stays at one window whatever the body's size.
/// Also keeps the body's first `previewBytes` (what a failure message shows).
///
/// A value type with no I/O: `CurlTransfer` feeds it on the client's thread, tests feed it
/// chunk by chunk.
struct BodyScanner {
    static let previewBytes = 512
    static let window = 64 * 1024
    static let overlap = 4 * 1024

    let pattern: BodyPattern
    /// The compiled regex; `nil` for a substring (or a regex that does not compile: never found).
    private let regex: Regex<AnyRegexOutput>?
    /// Whether the pattern was found so far.
    private(set) var matched = false
    /// The first bytes of the body (at most `previewBytes`).
    private(set) var preview: [UInt8] = []
    /// Substring: the last bytes seen (needle length − 1). Regex: the current window.
    private var carry: [UInt8] = []
    /// Regex: whether the window holds bytes no regex run has seen yet.
    private var untested = false
    private let needle: [UInt8]

    init(_ pattern: BodyPattern) {
        self.pattern = pattern
        switch pattern {
        case .substring(let text):
            needle = Array(text.utf8)
            regex = nil
        case .regex(let source):
            needle = []
            regex = try? BodyPattern.compile(source)
        }
        carry.reserveCapacity(pattern.isRegex ? Self.window : max(0, needle.count - 1))
    }

    /// Takes the next chunk of the body.
    mutating func consume(_ bytes: UnsafeBufferPointer<UInt8>) {
        if preview.count < Self.previewBytes {
            preview.append(contentsOf: bytes.prefix(Self.previewBytes - preview.count))
        }
        guard !matched, !bytes.isEmpty else { return }
        if let regex {
            consumeForRegex(bytes, regex)
        } else if pattern.isRegex == false {
            consumeForSubstring(bytes)
        }
    }

    /// Whether the pattern was found in the whole body (call once the body has ended).
    mutating func finish() -> Bool {
        if !matched, untested, let regex { test(regex) }
        return matched
    }

    private mutating func consumeForSubstring(_ bytes: UnsafeBufferPointer<UInt8>) {
        let n = needle.count
        guard n > 0 else {
            matched = true
            return
        }
        // A match that starts in the carried bytes and ends in this chunk.
        if !carry.isEmpty {
            let joined = carry + bytes.prefix(n - 1)
            if Self.contains(joined, needle) {
                matched = true
                return
            }
        }
        if bytes.count >= n, Self.contains(bytes, needle) {
            matched = true
            return
        }
        carry.append(contentsOf: bytes.suffix(n - 1))
        if carry.count > n - 1 { carry.removeFirst(carry.count - (n - 1)) }
    }

    private mutating func consumeForRegex(_ bytes: UnsafeBufferPointer<UInt8>, _ regex: Regex<AnyRegexOutput>) {
        var offset = 0
        while offset < bytes.count, !matched {
            let take = min(Self.window - carry.count, bytes.count - offset)
            carry.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            offset += take
            untested = true
            if carry.count == Self.window {
                test(regex)
                carry.removeFirst(carry.count - Self.overlap)
                untested = false
            }
        }
    }

    private mutating func test(_ regex: Regex<AnyRegexOutput>) {
        let text = String(decoding: carry, as: UTF8.self)
        matched = (try? regex.firstMatch(in: text)) != nil
    }

    /// Whether `needle` (not empty) occurs in `haystack` (glibc's `memmem`, a search far faster than a loop here).
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        needle.withUnsafeBytes { n in clinux_memmem(haystack.baseAddress, haystack.count, n.baseAddress, n.count) != nil }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        haystack.withUnsafeBufferPointer { contains($0, needle) }
    }
}

extension BodyPattern {
    var isRegex: Bool {
        if case .regex = self { return true }
        return false
    }
}

/// Text from a response body or a JSON value, made fit for a message: at most `limit`
/// characters (`…` when cut), on one line (unprintable characters escaped), with credentials
/// in URLs and the values of secret-looking keys (`"token": "…"`, `password=…`) masked.
public enum BodyExcerpt {
    /// Characters kept.
    public static let limit = 80

    /// The first bytes of a body, as a message shows them.
    public static func of(_ bytes: [UInt8]) -> String {
        masked(truncated(String(decoding: bytes.prefix(limit * 4), as: UTF8.self)))
    }

    /// At most `limit` characters, then `…`; unprintable characters escaped.
    public static func truncated(_ text: String) -> String {
        let cut = text.count > limit ? String(text.prefix(limit)) + "…" : text
        return cut.escapingUnprintable
    }

    /// `text` with URL credentials and the values after secret-looking keys masked.
    public static func masked(_ text: String) -> String {
        var out = ""
        var rest = Substring(SecretMasking.maskURLQuery(SecretMasking.maskURLPassword(text)))
        // Scan for `KEY<sep>VALUE` where KEY names a secret: `"token": "abc"`, `token=abc`, `token: abc`.
        while let index = rest.firstIndex(where: { $0 == ":" || $0 == "=" }) {
            let before = rest[..<index]
            let key = before.reversed().drop { $0 == "\"" || $0 == "'" || $0 == " " }.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
            out += rest[...index]
            rest = rest[rest.index(after: index)...]
            guard !key.isEmpty, SecretMasking.isSecretKey(String(key.reversed())) else { continue }
            let spaces = rest.prefix { $0 == " " }
            out += spaces
            rest = rest.dropFirst(spaces.count)
            if let quote = rest.first, quote == "\"" || quote == "'" {
                out.append(quote)
                rest = rest.dropFirst()
                let value = rest.prefix { $0 != quote }
                rest = rest.dropFirst(value.count)
            } else {
                let value = rest.prefix { !",&}]; <>\"'…\\".contains($0) }
                rest = rest.dropFirst(value.count)
            }
            out += SecretMasking.mask
        }
        return out + rest
    }
}
