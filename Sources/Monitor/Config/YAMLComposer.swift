// Yams's C module (libyaml), not a library of our own: a second libyaml would clash with its
// symbols at link time.
internal import CYaml

/// Builds a `ConfigNode` from libyaml's events, and keeps what the document costs within
/// `ConfigLimits` as it goes.
///
/// Why not `Yams.compose`: Yams looks for duplicate keys by hashing the key nodes, and a key
/// that is an alias of nested aliases (`? *bomb : x`) is hashed scalar by scalar through every
/// expansion, a regular expression each: 2 KB of YAML kept `compose` busy for minutes, before
/// any code of ours could count anything. Here an alias is a copy of a `ConfigNode` already
/// built (its arrays are shared, so the copy costs nothing), and each anchor remembers how many
/// nodes and alias expansions one use of it adds and how deep it nests, so the limits hold for
/// the document as it would be expanded, before anything (interpolation, validation) expands it.
///
/// Owns one libyaml parser and the copy of the text it reads (libyaml keeps a pointer to both);
/// reads one document once.
final class YAMLComposer {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let text: UnsafeMutableBufferPointer<UInt8>
    private let name: String
    private let limits: ConfigLimits

    /// What one alias of an anchor adds: its node, nodes, alias expansions and levels of nesting.
    private struct Anchor {
        var node: ConfigNode
        /// The scalar as written (a key may be an alias of one), else `nil`.
        var text: String?
        var nodes: Int
        var aliases: Int
        var height: Int
    }

    private struct Event {
        enum Kind {
            case streamStart, streamEnd, documentStart, documentEnd
            case alias(String)
            case scalar(String, plain: Bool)
            case sequenceStart, mappingStart, collectionEnd
        }

        var kind: Kind
        var anchor: String?
        var location: SourceLocation
    }

    private enum PathStep {
        case key(String)
        case index(Int)
    }

    /// Plain scalars that mean null (as in YAML 1.1 and the original's loader).
    private static let nullSpellings: Set<String> = ["", "~", "null", "Null", "NULL"]

    private var anchors: [String: Anchor] = [:]
    private var nodes = 0
    private var aliases = 0
    /// Sequences and mappings open around the current event, and the deepest level reached in
    /// the node being read (aliases expanded).
    private var level = 0
    private var deepest = 0
    /// Where the current event is, for messages: `checks.ping.web`, `x[2]`.
    private var steps: [PathStep] = []

    init(yaml: String, name: String, limits: ConfigLimits) {
        self.name = name
        self.limits = limits
        let utf8 = yaml.utf8
        text = .allocate(capacity: max(utf8.count, 1))
        _ = text.initialize(from: utf8)
        parser = .allocate(capacity: 1)
        // Fails only when malloc does; the first parse then reports it as a memory error.
        yaml_parser_initialize(parser)
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, text.baseAddress, utf8.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        text.deallocate()
    }

    /// The one document of the stream; an empty stream is null.
    func document() throws(ConfigDiagnostic) -> ConfigNode {
        _ = try next()
        let start = try next()
        guard case .documentStart = start.kind else {
            return ConfigNode(.null, at: SourceLocation(file: name, line: 1, column: 1))
        }
        let root = try node(try next())
        _ = try next()
        let after = try next()
        if case .documentStart = after.kind {
            throw problem(at: after.location, "invalid YAML: a second document (---); a config source holds one")
        }
        return root
    }

    private func node(_ event: Event) throws(ConfigDiagnostic) -> ConfigNode {
        switch event.kind {
        case .alias(let anchorName):
            let anchor = try expand(anchorName, at: event.location)
            var copy = anchor.node
            copy.location = event.location
            return copy
        case .scalar(let value, let plain):
            try count(at: event.location)
            let node = ConfigNode(plain && Self.nullSpellings.contains(value) ? .null : .scalar(value), at: event.location)
            if let anchor = event.anchor {
                anchors[anchor] = Anchor(node: node, text: value, nodes: 1, aliases: 0, height: 0)
            }
            return node
        case .sequenceStart, .mappingStart:
            let (nodesBefore, aliasesBefore, deepestOutside) = (nodes, aliases, deepest)
            deepest = level
            try count(at: event.location)
            level += 1
            guard level <= limits.depth else {
                throw problem(at: event.location, "nested deeper than \(limits.depth) levels, the limit of one config source")
            }
            deepest = max(deepest, level)
            let node: ConfigNode
            if case .sequenceStart = event.kind {
                node = ConfigNode(.sequence(try items()), at: event.location)
            } else {
                node = ConfigNode(.mapping(try entries()), at: event.location)
            }
            level -= 1
            if let anchor = event.anchor {
                anchors[anchor] = Anchor(
                    node: node, text: nil, nodes: nodes - nodesBefore, aliases: aliases - aliasesBefore, height: deepest - level)
            }
            deepest = max(deepest, deepestOutside)
            return node
        default:
            throw problem(at: event.location, "invalid YAML: unexpected event")
        }
    }

    private func items() throws(ConfigDiagnostic) -> [ConfigNode] {
        var items: [ConfigNode] = []
        while true {
            let event = try next()
            if case .collectionEnd = event.kind { return items }
            steps.append(.index(items.count))
            items.append(try node(event))
            steps.removeLast()
        }
    }

    private func entries() throws(ConfigDiagnostic) -> [ConfigNode.Entry] {
        var entries: [ConfigNode.Entry] = []
        var lines: [String: Int] = [:]
        while true {
            let event = try next()
            if case .collectionEnd = event.kind { return entries }
            let key = try keyText(event)
            steps.append(.key(key))
            if let line = lines[key] {
                throw problem(at: event.location, "duplicate key (first at line \(line)); a key is written once in a mapping")
            }
            lines[key] = event.location.line
            entries.append(ConfigNode.Entry(key: key, keyLocation: event.location, value: try node(try next())))
            steps.removeLast()
        }
    }

    /// A key is a scalar, or an alias of one, taken as written (`~` is the key "~").
    private func keyText(_ event: Event) throws(ConfigDiagnostic) -> String {
        switch event.kind {
        case .scalar(let value, _):
            try count(at: event.location)
            if let anchor = event.anchor {
                anchors[anchor] = Anchor(node: ConfigNode(.scalar(value), at: event.location), text: value, nodes: 1, aliases: 0, height: 0)
            }
            return value
        case .alias(let anchorName):
            if let text = try expand(anchorName, at: event.location).text { return text }
        default:
            break
        }
        throw problem(at: event.location, "mapping keys must be plain text")
    }

    /// Counts one use of `&name`, within the limits.
    private func expand(_ anchorName: String, at location: SourceLocation) throws(ConfigDiagnostic) -> Anchor {
        guard let anchor = anchors[anchorName] else {
            throw problem(at: location, "invalid YAML: alias *\(anchorName) has no anchor &\(anchorName) before it")
        }
        aliases += 1 + anchor.aliases
        guard aliases <= limits.aliasExpansions else {
            throw problem(
                at: location,
                "alias *\(anchorName) makes \(aliases) alias expansions (aliases within aliases count each time), more than \(limits.aliasExpansions), the limit of one config source")
        }
        nodes += anchor.nodes
        guard nodes <= limits.nodes else {
            throw problem(
                at: location, "alias *\(anchorName) expands the document to \(nodes) YAML nodes, more than \(limits.nodes), the limit of one config source")
        }
        guard level + anchor.height <= limits.depth else {
            throw problem(
                at: location, "alias *\(anchorName) nests \(level + anchor.height) levels deep here, deeper than \(limits.depth), the limit of one config source")
        }
        deepest = max(deepest, level + anchor.height)
        return anchor
    }

    private func count(at location: SourceLocation) throws(ConfigDiagnostic) {
        nodes += 1
        guard nodes <= limits.nodes else {
            throw problem(at: location, "more than \(limits.nodes) YAML nodes, the limit of one config source")
        }
    }

    // MARK: Events and errors

    private func next() throws(ConfigDiagnostic) -> Event {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw parserError() }
        defer { yaml_event_delete(&event) }
        let location = SourceLocation(file: name, line: event.start_mark.line + 1, column: event.start_mark.column + 1)
        func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? { pointer.map { String(cString: $0) } }
        switch event.type {
        case YAML_STREAM_START_EVENT: return Event(kind: .streamStart, location: location)
        case YAML_DOCUMENT_START_EVENT: return Event(kind: .documentStart, location: location)
        case YAML_DOCUMENT_END_EVENT: return Event(kind: .documentEnd, location: location)
        case YAML_ALIAS_EVENT: return Event(kind: .alias(string(event.data.alias.anchor) ?? ""), location: location)
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let value = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            return Event(
                kind: .scalar(value, plain: scalar.style == YAML_PLAIN_SCALAR_STYLE), anchor: string(scalar.anchor), location: location)
        case YAML_SEQUENCE_START_EVENT:
            return Event(kind: .sequenceStart, anchor: string(event.data.sequence_start.anchor), location: location)
        case YAML_MAPPING_START_EVENT:
            return Event(kind: .mappingStart, anchor: string(event.data.mapping_start.anchor), location: location)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT: return Event(kind: .collectionEnd, location: location)
        default: return Event(kind: .streamEnd, location: location)
        }
    }

    /// libyaml's error as a diagnostic: `invalid YAML: while parsing a flow mapping did not find
    /// expected ',' or '}'` at the problem's line and column.
    private func parserError() -> ConfigDiagnostic {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "unknown error"
        switch p.error {
        case YAML_READER_ERROR:
            // Bad bytes (a NUL, another control character): only the offset is known.
            let offset = min(p.problem_offset, text.count)
            let before = UnsafeBufferPointer(rebasing: text[..<offset])
            let line = before.count(where: { $0 == UInt8(ascii: "\n") }) + 1
            let column = offset - (before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
            let value = p.problem_value >= 0 ? " (U+\(String(p.problem_value, radix: 16, uppercase: true)))" : ""
            return self.problem(at: SourceLocation(file: name, line: line, column: column), "invalid YAML: \(problem)\(value)")
        case YAML_MEMORY_ERROR:
            return self.problem(at: SourceLocation(file: name), "invalid YAML: out of memory")
        default:
            let context = p.context.map { String(cString: $0) + " " } ?? ""
            let mark = p.problem_mark
            return self.problem(
                at: SourceLocation(file: name, line: mark.line + 1, column: mark.column + 1), "invalid YAML: \(context)\(problem)")
        }
    }

    private func problem(at location: SourceLocation, _ message: String) -> ConfigDiagnostic {
        var path = ""
        for step in steps {
            switch step {
            case .key(let key): path += path.isEmpty ? key : "." + key
            case .index(let index): path += "[\(index)]"
            }
        }
        return ConfigDiagnostic(.error, at: location, path: path, message)
    }
}
