import Monitor

extension LineProtocol.Point {
    /// The point for one result, with the original healthmonitor's choices:
    /// - measurement: the check type (`ping`);
    /// - tags: `configured` tags, then the check's target (`host`, `port`, `url` from its
    ///   config; a URL without user information, query or fragment, which may hold secrets),
    ///   then `name` = the label;
    /// - fields: the numeric and boolean measurements (string and structured ones are left
    ///   out), plus `status` (`"success"` / `"failure"`) and `message`;
    /// - timestamp: when the run started, in nanoseconds.
    init(result: CheckResult, configured: [String: String]) {
        var tags = configured
        for key in ["host", "port", "url"] {
            guard let value = result.layeredConfig[key] else { continue }
            switch value {
            case .string(let s): tags[key] = key == "url" ? Self.publicURL(s) : s
            case .int, .double: tags[key] = value.displayText
            default: continue
            }
        }
        tags["name"] = result.label

        var fields: [String: LineProtocol.FieldValue] = [:]
        for (key, value) in result.measurement {
            switch value {
            case .int(let v): fields[key] = .integer(v)
            case .double(let v): fields[key] = .float(v)
            case .bool(let b): fields[key] = .boolean(b)
            default: continue
            }
        }
        fields["status"] = .string(result.status.rawValue)
        fields["message"] = .string(result.message)
        self.init(measurement: result.check, tags: tags, fields: fields, timestamp: result.createdMillis * 1_000_000)
    }

    /// `scheme://host:port/path` of `url`: user information, query and fragment removed.
    static func publicURL(_ url: String) -> String {
        var text = Substring(url)
        if let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = text[..<cut] }
        guard let schemeEnd = text.firstRange(of: "://") else { return String(text) }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            return String(text[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...])
        }
        return String(text)
    }
}
