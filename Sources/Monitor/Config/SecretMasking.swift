/// Masks secrets in a check's configuration before it leaves the process (results, logs).
///
/// Masked: any key whose name contains password, passwd, token, secret, apikey / api-key /
/// api_key, webhook, authorization, credential, signature, private_key, access_key, session or
/// cookie, or has `pass` or `pwd` as a word (`db_pass`, `smtpPwd`); a request `body` (a
/// download's POST body may log in); every value under `headers`;
/// the password part of any URL with user information (`amqp://user:pass@host` →
/// `amqp://user:********@host`), even when the password holds unencoded `@`, `/`, `?` or `#`; and
/// URL query parameters with such names (`?token=abc` → `?token=********`), plus `key`, `sig`,
/// `signature` and `code`.
public enum SecretMasking {
    /// The replacement text.
    public static let mask = "********"

    private static let secretFragments = [
        "password", "passwd", "token", "secret", "apikey", "webhook", "authorization", "credential", "signature",
        "privatekey", "accesskey", "session", "cookie",
    ]
    private static let secretWords: Set<String> = ["pass", "pwd"]

    /// Whether a key names a secret.
    ///
    /// Called for every option of every check at start and for the keys a download's body
    /// scanner meets: an ASCII key (the usual case) is read as bytes, without allocating.
    public static func isSecretKey(_ key: String) -> Bool {
        var key = key
        return key.withUTF8 { asciiIsSecretKey($0) } ?? unicodeIsSecretKey(key)
    }

    private static let secretFragmentBytes = secretFragments.map { Array($0.utf8) }
    /// `secretWords` as the ASCII path packs a word: its bytes, big-endian in a `UInt64` (at
    /// most 8), with its length.
    private static let secretWordCodes: [(length: Int, code: UInt64)] = secretWords.map { word in
        precondition(word.utf8.count <= 8, "a secret word of at most 8 letters")
        return (word.utf8.count, word.utf8.reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// `isSecretKey` of an ASCII key, or `nil` when the key is not ASCII.
    private static func asciiIsSecretKey(_ key: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard key.allSatisfy({ $0 < 0x80 }) else { return nil }
        func lower(_ b: UInt8) -> UInt8 { b &- 65 < 26 ? b | 0x20 : b }
        func isAlphanumeric(_ b: UInt8) -> Bool { (b | 0x20) &- 97 < 26 || b &- 48 < 10 }
        // A word of `secretWords`: words split at what is not a letter or digit and where a
        // lower-case letter is followed by an upper-case one (`smtpPwd`).
        var word: UInt64 = 0
        var length = 0
        var previousWasLower = false
        var secretWord = false
        func endWord() {
            if secretWordCodes.contains(where: { $0.length == length && $0.code == word }) { secretWord = true }
            word = 0
            length = 0
        }
        for b in key {
            if !isAlphanumeric(b) {
                endWord()
                previousWasLower = false
                continue
            }
            let isUpper = b &- 65 < 26
            if isUpper && previousWasLower { endWord() }
            word = word << 8 | UInt64(lower(b))
            length += 1
            previousWasLower = b &- 97 < 26
        }
        endWord()
        if secretWord { return true }
        // The fragments, in the key lower-cased without `-`, `_` and `.`.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: key.count) { buffer in
            var count = 0
            for b in key where b != UInt8(ascii: "-") && b != UInt8(ascii: "_") && b != UInt8(ascii: ".") {
                buffer[count] = lower(b)
                count += 1
            }
            let compact = UnsafeBufferPointer(rebasing: buffer[..<count])
            if compact.elementsEqual("body".utf8) { return true }
            return secretFragmentBytes.contains { fragment in
                guard fragment.count <= count else { return false }
                return (0...(count - fragment.count)).contains { start in
                    compact[start..<(start + fragment.count)].elementsEqual(fragment)
                }
            }
        }
    }

    /// `isSecretKey` by Unicode rules: keys that are not ASCII, and the reference the ASCII
    /// path is tested against.
    static func unicodeIsSecretKey(_ key: String) -> Bool {
        let k = key.lowercased().filter { $0 != "-" && $0 != "_" && $0 != "." }
        if secretFragments.contains(where: { k.contains($0) }) || k == "body" { return true }
        return words(key).contains { secretWords.contains($0) }
    }

    /// The words of a key: split at `_`, `-`, `.` and lower-to-upper case changes, lower-cased.
    static func words(_ key: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previousWasLower = false
        for character in key {
            if !character.isLetter && !character.isNumber {
                if !current.isEmpty { words.append(current) }
                current = ""
                previousWasLower = false
                continue
            }
            if character.isUppercase && previousWasLower {
                words.append(current)
                current = ""
            }
            current.append(Character(character.lowercased()))
            previousWasLower = character.isLowercase
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// A copy of `value` with secrets masked.
    public static func masked(_ value: JSONValue, key: String? = nil, inHeaders: Bool = false) -> JSONValue {
        if inHeaders || (key.map(isSecretKey) ?? false) {
            switch value {
            case .object(let members):
                return .object(members.mapValues { _ in .string(mask) })
            case .array(let items):
                return .array(items.map { _ in .string(mask) })
            case .null:
                return .null
            default:
                return .string(mask)
            }
        }
        switch value {
        case .string(let s): return .string(maskURLQuery(maskURLPassword(s)))
        case .array(let items):
            var out = items
            for (i, item) in items.enumerated() {
                let new = masked(item)
                if new != item { out[i] = new }
            }
            return .array(out)
        case .object(let members):
            // Copied only when something is masked: a check's masked config (kept per check)
            // then shares its options' storage.
            let headers = key?.lowercased() == "headers"
            var out = members
            for (k, v) in members {
                let new = masked(v, key: k, inHeaders: headers)
                if new != v { out[k] = new }
            }
            return .object(out)
        default: return value
        }
    }

    /// Masks the values of secret-looking query parameters in a URL; other text is unchanged.
    public static func maskURLQuery(_ text: String) -> String {
        guard text.contains("://"), let question = text.firstIndex(of: "?") else { return text }
        let fragmentStart = text[question...].firstIndex(of: "#") ?? text.endIndex
        let query = text[text.index(after: question)..<fragmentStart]
        let masked = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let eq = pair.firstIndex(of: "=") else { return String(pair) }
            let name = pair[..<eq]
            let lowered = name.lowercased()
            guard isSecretKey(String(name)) || ["key", "sig", "signature", "code"].contains(lowered) else { return String(pair) }
            return name + "=" + mask
        }
        return String(text[...question]) + masked.joined(separator: "&") + String(text[fragmentStart...])
    }

    /// Masks the password in `scheme://user:password@host…`; other text is returned unchanged.
    ///
    /// The user name ends at the first `:`; the password runs to the last `@`, so a password
    /// with unencoded `@`, `/`, `?` or `#` is masked whole. Where the text is ambiguous, more is
    /// masked, never less (a path holding `@` after a password). `host:8080/a@b` has no user
    /// information and is left alone.
    public static func maskURLPassword(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let rest = text[schemeEnd.upperBound...]
        guard let colon = rest.firstIndex(where: { ":/?#@".contains($0) }), rest[colon] == ":",
            let at = rest.lastIndex(of: "@"), at > colon
        else { return text }
        let passwordStart = rest.index(after: colon)
        let authorityEnd = rest.firstIndex(where: { "/?#".contains($0) }) ?? rest.endIndex
        if authorityEnd < at, !rest[..<authorityEnd].contains("@"), rest[passwordStart..<authorityEnd].allSatisfy(\.isNumber) {
            return text  // host:port, then an `@` in the path
        }
        return String(text[..<passwordStart]) + mask + String(rest[at...])
    }
}
