/// Masks secrets in a check's configuration before it leaves the process (results, logs).
///
/// Masked: any key named like password, passwd, token, secret, apikey / api-key / api_key,
/// webhook, authorization, credential; every value under `headers`; the password part of any URL
/// with user information (`amqp://user:pass@host` → `amqp://user:********@host`); and URL query
/// parameters with such names (`?token=abc` → `?token=********`), plus `key`, `sig` and `signature`.
public enum SecretMasking {
    /// The replacement text.
    public static let mask = "********"

    /// Whether a key names a secret.
    public static func isSecretKey(_ key: String) -> Bool {
        let k = key.lowercased().filter { $0 != "-" && $0 != "_" }
        return ["password", "passwd", "token", "secret", "apikey", "webhook", "authorization", "credential"]
            .contains { k.contains($0) }
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
        case .array(let items): return .array(items.map { masked($0) })
        case .object(let members):
            let headers = key?.lowercased() == "headers"
            return .object(Dictionary(uniqueKeysWithValues: members.map { k, v in (k, masked(v, key: k, inHeaders: headers)) }))
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
    public static func maskURLPassword(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let afterScheme = text[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else {
            return text
        }
        return String(text[..<authority.index(after: colon)]) + mask + String(text[at...])
    }
}
