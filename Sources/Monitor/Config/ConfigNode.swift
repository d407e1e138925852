import Yams

/// The configuration as a tree of YAML nodes that remember where they were written.
///
/// Scalars stay text until validation gives them a type (as the original's YAML `BaseLoader`
/// did), so `port: "9000"` and `port: 9000` mean the same.
public struct ConfigNode: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var key: String
        public var keyLocation: SourceLocation
        public var value: ConfigNode
    }

    public enum Kind: Sendable, Hashable {
        case null
        case scalar(String)
        case mapping([Entry])
        case sequence([ConfigNode])
    }

    public var kind: Kind
    public var location: SourceLocation

    public init(_ kind: Kind, at location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    /// The entries of a mapping, else `nil`.
    public var entries: [Entry]? {
        if case .mapping(let entries) = kind { return entries }
        return nil
    }

    /// The value under `key` in a mapping.
    public subscript(key: String) -> ConfigNode? {
        entries?.last(where: { $0.key == key })?.value
    }

    /// A word for the kind of node, for error messages: `a mapping`, `a list`, `"five"`.
    public var foundDescription: String {
        switch kind {
        case .null: "nothing (null)"
        case .scalar(let s): "\"\(s)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// Parses YAML text; `name` is what locations report as the file.
    public static func parse(yaml: String, name: String) throws(ConfigDiagnostic) -> ConfigNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw yamlDiagnostic(error, name: name)
        } catch {
            throw ConfigDiagnostic(.error, at: SourceLocation(file: name), path: "", "invalid YAML: \(error)")
        }
        guard let root else { return ConfigNode(.null, at: SourceLocation(file: name, line: 1, column: 1)) }
        return try convert(root, name: name, path: "")
    }

    private static func location(_ mark: Mark?, _ name: String) -> SourceLocation {
        SourceLocation(file: name, line: mark?.line ?? 0, column: mark?.column ?? 0)
    }

    private static func convert(_ node: Node, name: String, path: String) throws(ConfigDiagnostic) -> ConfigNode {
        let here = location(node.mark, name)
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return ConfigNode(.null, at: here)
            }
            return ConfigNode(.scalar(scalar.string), at: here)
        case .sequence(let sequence):
            var items: [ConfigNode] = []
            for (i, item) in sequence.enumerated() {
                items.append(try convert(item, name: name, path: "\(path)[\(i)]"))
            }
            return ConfigNode(.sequence(items), at: here)
        case .mapping(let mapping):
            var entries: [Entry] = []
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw ConfigDiagnostic(
                        .error, at: location(key.mark, name), path: path, "mapping keys must be plain text")
                }
                let keyPath = path.isEmpty ? keyScalar.string : "\(path).\(keyScalar.string)"
                entries.append(
                    Entry(
                        key: keyScalar.string, keyLocation: location(key.mark, name),
                        value: try convert(value, name: name, path: keyPath)))
            }
            return ConfigNode(.mapping(entries), at: here)
        case .alias:
            throw ConfigDiagnostic(.error, at: here, path: path, "YAML aliases are not supported; repeat the value")
        }
    }

    private static func yamlDiagnostic(_ error: YamlError, name: String) -> ConfigDiagnostic {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text) " } ?? ""
            return ConfigDiagnostic(.error, at: location(mark, name), path: "", "invalid YAML: \(detail)\(problem)")
        default:
            return ConfigDiagnostic(.error, at: SourceLocation(file: name), path: "", "invalid YAML: \(error)")
        }
    }

    /// Deep-merges `other` over `self`: mappings merge key by key, anything else is replaced.
    public func merged(with other: ConfigNode) -> ConfigNode {
        guard case .mapping(var mine) = kind, case .mapping(let theirs) = other.kind else {
            return other
        }
        for entry in theirs {
            if let index = mine.firstIndex(where: { $0.key == entry.key }) {
                mine[index].value = mine[index].value.merged(with: entry.value)
            } else {
                mine.append(entry)
            }
        }
        return ConfigNode(.mapping(mine), at: location)
    }
}
