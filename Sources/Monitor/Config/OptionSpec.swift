/// One option a check or notifier type accepts: its name, type, default and meaning.
///
/// The README's reference tables and the validator both read these, so a type's options are
/// declared once.
public struct OptionSpec: Sendable {
    /// The value types an option can take. Scalars may be written as strings or numbers.
    public enum Kind: Sendable, Hashable {
        /// Any text.
        case string
        /// A whole number within `range`.
        case integer(ClosedRange<Int> = Int.min...Int.max)
        /// A number (integer or fraction) within `range`.
        case number(ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude)
        /// `yes`/`no`, `true`/`false`, `on`/`off`, `1`/`0`.
        case boolean
        /// Seconds, as a number (`0.5`) or with a unit (`500ms`, `30s`, `5m`, `1h`), at least `minimum`.
        case duration(minimum: Double = 0)
        /// One of the listed words.
        case choice([String])
        /// A list of strings; a single string is taken as a one-element list.
        case stringList
        /// A mapping of string keys to string values (e.g. HTTP headers, tags).
        case stringMap
        /// Any YAML value, kept as written (scalars as text, `null` as `.null`) for the check to
        /// read: nested values (`expect_json`'s list of assertions). `expected` says what fits;
        /// the loader records where each nested value was written (`name[1].path`), so the
        /// check's diagnostics point at the line.
        case structure(expected: String)
    }

    public var name: String
    public var kind: Kind
    /// The value used when the option is absent; `nil` for no default.
    public var defaultValue: JSONValue?
    /// Whether the option must be given.
    public var required: Bool
    /// A one-line explanation, shown in `validate` and mirrored in the README.
    public var help: String

    public init(_ name: String, _ kind: Kind, default defaultValue: JSONValue? = nil, required: Bool = false, help: String = "") {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.required = required
        self.help = help
    }

    /// What the validator says is expected, e.g. `an integer from 1 to 65535`.
    public var expected: String {
        switch kind {
        case .string: return "text"
        case .integer(let r):
            if r.lowerBound == Int.min && r.upperBound == Int.max { return "an integer" }
            if r.upperBound == Int.max { return "an integer of at least \(r.lowerBound)" }
            return "an integer from \(r.lowerBound) to \(r.upperBound)"
        case .number(let r):
            if r.upperBound == .greatestFiniteMagnitude, r.lowerBound == -.greatestFiniteMagnitude { return "a number" }
            if r.upperBound == .greatestFiniteMagnitude { return "a number of at least \(JSONValue.format(r.lowerBound))" }
            return "a number from \(JSONValue.format(r.lowerBound)) to \(JSONValue.format(r.upperBound))"
        case .boolean: return "a boolean (yes/no, true/false, 1/0)"
        case .duration(let minimum):
            return "a duration in seconds (e.g. 30, 0.5, 500ms, 5m)"
                + (minimum > 0 ? " of at least \(JSONValue.format(minimum)) s" : "") + " and at most 1000000000 s"
        case .choice(let words): return "one of " + words.joined(separator: ", ")
        case .stringList: return "a list of strings"
        case .stringMap: return "a mapping of names to strings"
        case .structure(let expected): return expected
        }
    }

    /// Converts a config node to this option's typed value, or says what is wrong.
    func convert(_ node: ConfigNode) -> Result<JSONValue, Mismatch> {
        // Written only for a value that does not fit (most do).
        func mismatch() -> Mismatch { Mismatch(message: "found \(node.foundDescription), expected \(expected)") }
        switch kind {
        case .string:
            guard case .scalar(let s) = node.kind else { return .failure(mismatch()) }
            return .success(.string(s))
        case .integer(let range):
            guard case .scalar(let s) = node.kind, let v = Int(s.trimmingSpaces) else { return .failure(mismatch()) }
            return range.contains(v) ? .success(.int(v)) : .failure(mismatch())
        case .number(let range):
            guard case .scalar(let s) = node.kind, let v = Double(s.trimmingSpaces), v.isFinite else {
                return .failure(mismatch())
            }
            return range.contains(v) ? .success(.double(v)) : .failure(mismatch())
        case .boolean:
            guard case .scalar(let s) = node.kind, let b = OptionSpec.parseBool(s) else { return .failure(mismatch()) }
            return .success(.bool(b))
        case .duration(let minimum):
            // At most ~31 years: times become nanosecond integers (Int64) in the scheduler.
            guard case .scalar(let s) = node.kind, let v = OptionSpec.parseDuration(s), v >= minimum, v <= OptionSpec.maximumDuration
            else {
                return .failure(mismatch())
            }
            return .success(.double(v))
        case .choice(let words):
            guard case .scalar(let s) = node.kind, let word = words.first(where: { $0 == s.lowercased() }) else {
                return .failure(mismatch())
            }
            return .success(.string(word))
        case .stringList:
            switch node.kind {
            case .scalar(let s): return .success(.array([.string(s)]))
            case .sequence(let items):
                var out: [JSONValue] = []
                for item in items {
                    guard case .scalar(let s) = item.kind else { return .failure(mismatch()) }
                    out.append(.string(s))
                }
                return .success(.array(out))
            default: return .failure(mismatch())
            }
        case .stringMap:
            guard case .mapping(let entries) = node.kind else { return .failure(mismatch()) }
            var out: [String: JSONValue] = [:]
            for entry in entries {
                guard case .scalar(let s) = entry.value.kind else { return .failure(mismatch()) }
                out[entry.key] = .string(s)
            }
            return .success(.object(out))
        case .structure:
            return .success(Self.tree(node))
        }
    }

    /// A YAML node as a JSON-shaped value: scalars as text, `null` as `.null`.
    static func tree(_ node: ConfigNode) -> JSONValue {
        switch node.kind {
        case .null: .null
        case .scalar(let s): .string(s)
        case .sequence(let items): .array(items.map(tree))
        case .mapping(let entries): .object(Dictionary(entries.map { ($0.key, tree($0.value)) }, uniquingKeysWith: { _, last in last }))
        }
    }

    /// Where each value nested in `node` was written, by its path below the option:
    /// `[0]`, `[0].path`, `.regex`.
    static func nestedLocations(_ node: ConfigNode, prefix: String, into locations: inout [String: SourceLocation]) {
        switch node.kind {
        case .sequence(let items):
            for (i, item) in items.enumerated() {
                locations["\(prefix)[\(i)]"] = item.location
                nestedLocations(item, prefix: "\(prefix)[\(i)]", into: &locations)
            }
        case .mapping(let entries):
            for entry in entries {
                locations["\(prefix).\(entry.key)"] = entry.value.location
                nestedLocations(entry.value, prefix: "\(prefix).\(entry.key)", into: &locations)
            }
        default:
            break
        }
    }

    /// Why a value does not fit an option.
    struct Mismatch: Error {
        var message: String
    }

    /// `yes`/`no`, `true`/`false`, `on`/`off`, `1`/`0`, `y`/`n`, any case.
    public static func parseBool(_ text: String) -> Bool? {
        switch text.trimmingSpaces.lowercased() {
        case "yes", "y", "true", "on", "1": true
        case "no", "n", "false", "off", "0": false
        default: nil
        }
    }

    /// The longest duration an option takes, in seconds.
    public static let maximumDuration: Double = 1_000_000_000

    /// Seconds from `30`, `0.5`, `500ms`, `30s`, `5m`, `1h`, `1d`; `nil` if malformed or negative.
    public static func parseDuration(_ text: String) -> Double? {
        let t = text.trimmingSpaces.lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            if let v = Double(t.dropLast(suffix.count).trimmingSpaces), v.isFinite, v >= 0 { return v * factor }
        }
        guard let v = Double(t), v.isFinite, v >= 0 else { return nil }
        return v
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
