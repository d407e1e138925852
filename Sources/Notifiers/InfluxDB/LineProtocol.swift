import Monitor

/// InfluxDB line protocol: `measurement,tag=value field=1i,other="text" 1732539909042000000`.
///
/// Escaping follows the line-protocol reference: in the measurement, commas and spaces; in tag
/// keys, tag values and field keys, commas, equals signs and spaces; in string field values,
/// double quotes and backslashes. Backslashes elsewhere are written as they are, which InfluxDB
/// (1.x and 2.x share the parser) stores unchanged — except in field keys, whose parser pairs
/// backslashes, so a run of them before an escaped character is made even (one extra backslash
/// is stored). What the protocol cannot carry is replaced, so that one hostile label never makes
/// a whole batch unparseable:
/// - line breaks and tabs in names and tag values become spaces (escaped), and in string field
///   values the two characters `\n` (the reference forbids raw line breaks in values);
/// - a trailing backslash in a name or tag value is dropped (it would escape the separator);
/// - tags with an empty key or value are left out (InfluxDB rejects them), and a tag or field
///   named `time` is written as `time_` (InfluxDB 1.x drops points that use the name).
enum LineProtocol {
    /// A field value with its line-protocol type.
    enum FieldValue: Sendable, Hashable {
        case integer(Int)
        case float(Double)
        case boolean(Bool)
        case string(String)
    }

    /// One point, ready to encode.
    struct Point: Sendable, Hashable {
        var measurement: String
        var tags: [String: String]
        var fields: [String: FieldValue]
        /// Unix time in nanoseconds.
        var timestamp: Int64
    }

    /// The line for `point` (no trailing newline), or `nil` when no field is left to write.
    static func line(_ point: Point) -> String? {
        var fieldText: [String] = []
        for key in point.fields.keys.sorted() {
            guard let value = encode(point.fields[key]!) else { continue }
            let name = escape(renameReserved(key), .fieldKey)
            if name.isEmpty { continue }
            fieldText.append(name + "=" + value)
        }
        let measurement = escape(point.measurement, .measurement)
        guard !fieldText.isEmpty, !measurement.isEmpty else { return nil }
        var line = measurement
        // Sorted tags: what InfluxDB stores anyway, so it need not sort them.
        var tags: [(String, String)] = []
        for (key, value) in point.tags {
            let k = escape(renameReserved(key), .tag)
            let v = escape(value, .tag)
            if !k.isEmpty && !v.isEmpty { tags.append((k, v)) }
        }
        for (key, value) in tags.sorted(by: { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }) {
            line += "," + key + "=" + value
        }
        line += " " + fieldText.joined(separator: ",") + " " + String(point.timestamp)
        return line
    }

    /// `12i`, `0.5`, `true`, `"text"`; `nil` for a non-finite float, which the protocol lacks.
    static func encode(_ value: FieldValue) -> String? {
        switch value {
        case .integer(let v): return String(v) + "i"
        case .float(let v):
            guard v.isFinite else { return nil }
            // Swift prints 1e+20 for large values; InfluxDB parses that form too.
            return String(v)
        case .boolean(let b): return b ? "true" : "false"
        case .string(let s):
            var out = "\""
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
    }

    /// The element of a line a name is written in: each has its own escaping.
    enum Element {
        case measurement
        case tag
        case fieldKey

        var special: Set<Unicode.Scalar> { self == .measurement ? [",", " "] : [",", "=", " "] }
    }

    /// A measurement name, tag key, tag value or field key, escaped for `element`.
    static func escape(_ text: String, _ element: Element) -> String {
        let special = element.special
        var scalars = Array(text.unicodeScalars.map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : $0 })
        while scalars.last == "\\" { scalars.removeLast() }
        var out = ""
        out.reserveCapacity(scalars.count)
        var backslashes = 0
        for scalar in scalars {
            if special.contains(scalar) {
                // The field-key parser pairs backslashes: keep the run before `\,` even.
                if element == .fieldKey && backslashes % 2 == 1 { out += "\\" }
                out += "\\"
            }
            backslashes = scalar == "\\" ? backslashes + 1 : 0
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    private static func renameReserved(_ key: String) -> String {
        key == "time" ? "time_" : key
    }
}
