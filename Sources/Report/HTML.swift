/// Text for HTML and inline SVG.
public enum HTML {
    /// `text` safe as element content and as a quoted attribute value: `&`, `<`, `>`, `"` and
    /// `'` become character references, everything else stays as it is.
    ///
    /// `HTML.escape("<b title=\"x\">Tom & Jerry's</b>")` is
    /// `&lt;b title=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/b&gt;`.
    public static func escape(_ text: String) -> String {
        // Most labels and messages need nothing: return them without building a new string.
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
