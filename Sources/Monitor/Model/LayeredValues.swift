/// Named values in two layers: those written for one mapping, over defaults that every mapping
/// of its kind shares (one dictionary per check type, not one per check: 10,000 checks' options
/// with their defaults filled in were 7 MB).
///
/// A check's options, its masked config and its results' `config` are kept this way, so a
/// result holds two shared references and copies nothing. Reads look in `written`, then in
/// `defaults`; `merged` is the two as one dictionary, for a reader that wants the whole.
/// Equal when the merged values are, however they are split.
///
/// ```swift
/// let config = LayeredValues(["host": "h"], defaults: ["host": "", "port": .int(80)])
/// config["port"]  // .int(80)
/// config.merged   // ["host": "h", "port": .int(80)]
/// ```
public struct LayeredValues: Sendable {
    /// The values written for this mapping.
    public private(set) var written: [String: JSONValue]
    /// The defaults of its kind (written or not; `written` wins), shared.
    public private(set) var defaults: [String: JSONValue]

    /// No value (without it, `LayeredValues()` would be ambiguous with the empty literal).
    public init() { self.init([:]) }

    public init(_ written: [String: JSONValue], defaults: [String: JSONValue] = [:]) {
        self.written = written
        self.defaults = defaults
    }

    /// The value of `name`: the written one, else its default.
    public subscript(name: String) -> JSONValue? { written[name] ?? defaults[name] }

    /// Every value, the written ones over the defaults; no copy when either layer is empty.
    /// Setting it replaces both layers.
    public var merged: [String: JSONValue] {
        get {
            if defaults.isEmpty { return written }
            if written.isEmpty { return defaults }
            return defaults.merging(written) { _, value in value }
        }
        set {
            written = newValue
            defaults = [:]
        }
    }

    /// Whether there is no value at all.
    public var isEmpty: Bool { written.isEmpty && defaults.isEmpty }

    /// Every value sorted by name, the written ones over the defaults: one array, no merged
    /// dictionary (what a writer of the whole wants, once per message).
    public var sortedMembers: [(key: String, value: JSONValue)] {
        var members = Array(written)
        members.reserveCapacity(written.count + defaults.count)
        for member in defaults where written[member.key] == nil { members.append(member) }
        members.sort { $0.key < $1.key }
        return members
    }

    /// Appends the values as one JSON object, the text `JSONValue.object(merged)` writes.
    public func write(into out: inout [UInt8]) {
        JSONValue.writeObject(sortedMembers, into: &out)
    }
}

extension LayeredValues: Hashable {
    public static func == (a: LayeredValues, b: LayeredValues) -> Bool { a.merged == b.merged }

    /// The number of values only: consistent with `==` however the layers split, without
    /// merging them.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(written.count + defaults.keys.count { written[$0] == nil })
    }
}

/// A literal is the written layer alone: `maskedConfig: ["host": "h"]`.
extension LayeredValues: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(Dictionary(elements) { _, last in last })
    }
}
