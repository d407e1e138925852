/// A JSON-shaped value: used for measurements, a check's (masked) configuration, and every
/// message a notifier renders. Objects keep no insertion order; they serialise with sorted keys so
/// the same value always gives the same text.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The value as a `Double` when it is a number (integers convert), else `nil`.
    public var doubleValue: Double? {
        switch self {
        case .int(let v): Double(v)
        case .double(let v): v
        default: nil
        }
    }

    /// The value as an `Int` when it is an integer, or a double with no fractional part.
    public var intValue: Int? {
        switch self {
        case .int(let v): v
        case .double(let v) where v.rounded() == v && abs(v) < 9e18: Int(v)
        default: nil
        }
    }

    /// The string payload of `.string`, else `nil`.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The payload of `.bool`, else `nil`.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The payload of `.object`, else `nil`.
    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The payload of `.array`, else `nil`.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// A short human rendering: strings bare, numbers as written, containers as JSON.
    public var displayText: String {
        switch self {
        case .string(let s): s
        case .int(let v): String(v)
        case .double(let v): JSONValue.format(v)
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        default: json()
        }
    }

    /// Compact JSON text of the value.
    public func json() -> String {
        var out = ""
        write(into: &out)
        return out
    }

    /// Appends compact JSON text of the value to `out`.
    public func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let v): out += String(v)
        case .double(let v): out += v.isFinite ? JSONValue.format(v) : "null"
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            // The members sorted as pairs: no second lookup per key.
            var first = true
            for (key, value) in members.sorted(by: { $0.key < $1.key }) {
                if !first { out += "," }
                first = false
                JSONValue.writeString(key, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    /// Formats a double the shortest way that reads back exactly; integral values keep their
    /// `.0` (Swift's own rendering), so consumers see a float for a float measurement.
    public static func format(_ v: Double) -> String { String(v) }

    /// Appends `s` as a JSON string literal with the escapes RFC 8259 requires. Runs without
    /// anything to escape are appended whole (a report writes megabytes of text).
    public static func writeString(_ s: String, into out: inout String) {
        out += "\""
        let utf8 = s.utf8
        var start = utf8.startIndex
        var i = start
        while i != utf8.endIndex {
            let byte = utf8[i]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else {
                i = utf8.index(after: i)
                continue
            }
            // An ASCII byte: `start` and `i` are on scalar boundaries (a quote followed by a
            // combining mark is one Character: slice the UTF-8 view, not the String).
            out += Substring(utf8[start..<i])
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\n"): out += "\\n"
            case UInt8(ascii: "\r"): out += "\\r"
            case UInt8(ascii: "\t"): out += "\\t"
            default:
                let hex = String(byte, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
            i = utf8.index(after: i)
            start = i
        }
        out += Substring(utf8[start...])
        out += "\""
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}
