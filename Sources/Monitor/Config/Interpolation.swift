#if canImport(Glibc)
import Glibc
#endif

/// Resolves `${NAME}` / `${NAME:-default}` from the environment in every scalar, and every key
/// `NAME_file` into `NAME` with the file's content (container secrets), so secrets stay out of
/// the config file. `$${` writes a literal `${`.
///
/// A key that is itself a declared option ending in `_file` (`ca_file`, `body_file`) is an option
/// like any other, a path the check or notifier reads; it is never replaced.
struct Interpolation {
    var environment: [String: String]
    var readFile: (String) -> Result<String, ReadFileError> = Interpolation.readFile
    /// The declared options of the mapping at a path (`notifiers.amqp`, `checks.ping.web`,
    /// `settings`), given its entries (a notifier's `type:` decides its kind).
    var declaredOptions: (_ path: String, _ entries: [ConfigNode.Entry]) -> Set<String> = { _, _ in [] }

    struct ReadFileError: Error {
        var reason: String
    }

    func apply(_ node: ConfigNode, path: String, into diagnostics: inout [ConfigDiagnostic]) -> ConfigNode {
        switch node.kind {
        case .null:
            return node
        case .scalar(let text):
            return ConfigNode(.scalar(substitute(text, at: node.location, path: path, into: &diagnostics)), at: node.location)
        case .sequence(let items):
            let resolved = items.enumerated().map { i, item in apply(item, path: "\(path)[\(i)]", into: &diagnostics) }
            return ConfigNode(.sequence(resolved), at: node.location)
        case .mapping(let entries):
            var out: [ConfigNode.Entry] = []
            let declared = declaredOptions(path, entries)
            for entry in entries {
                let keyPath = path.isEmpty ? entry.key : "\(path).\(entry.key)"
                var value = apply(entry.value, path: keyPath, into: &diagnostics)
                var key = entry.key
                if key.hasSuffix("_file"), key.count > 5, !declared.contains(key) {
                    let target = String(key.dropLast(5))
                    if entries.contains(where: { $0.key == target }) {
                        diagnostics.append(
                            ConfigDiagnostic(
                                .error, at: entry.keyLocation, path: keyPath,
                                "both \(target) and \(key) are set; give only one"))
                        continue
                    }
                    guard case .scalar(let file) = value.kind else {
                        diagnostics.append(
                            ConfigDiagnostic(
                                .error, at: value.location, path: keyPath,
                                "found \(value.foundDescription), expected the path of a file holding \(target)"))
                        continue
                    }
                    switch readFile(file) {
                    case .success(let content):
                        var trimmed = Substring(content)
                        while let last = trimmed.last, last == "\n" || last == "\r" { trimmed = trimmed.dropLast() }
                        value = ConfigNode(.scalar(String(trimmed)), at: value.location)
                        key = target
                    case .failure(let error):
                        diagnostics.append(
                            ConfigDiagnostic(
                                .error, at: value.location, path: keyPath,
                                "cannot read \(file) for \(target): \(error.reason)"))
                        continue
                    }
                }
                out.append(ConfigNode.Entry(key: key, keyLocation: entry.keyLocation, value: value))
            }
            return ConfigNode(.mapping(out), at: node.location)
        }
    }

    func substitute(
        _ text: String, at location: SourceLocation, path: String, into diagnostics: inout [ConfigDiagnostic]
    ) -> String {
        guard text.contains("$") else { return text }
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("${") {
                out += "${"
                rest = after.dropFirst(2)
                continue
            }
            guard after.hasPrefix("{"), let close = after.firstIndex(of: "}") else {
                out += "$"
                rest = after
                continue
            }
            let inner = after[after.index(after: after.startIndex)..<close]
            rest = after[after.index(after: close)...]
            let name: Substring
            let fallback: Substring?
            if let range = inner.range(of: ":-") {
                name = inner[..<range.lowerBound]
                fallback = inner[range.upperBound...]
            } else {
                name = inner
                fallback = nil
            }
            if let value = environment[String(name)], !(fallback != nil && value.isEmpty) {
                out += value
            } else if let fallback {
                out += fallback
            } else {
                diagnostics.append(
                    ConfigDiagnostic(
                        .error, at: location, path: path,
                        "environment variable \(name) is not set (write ${\(name):-default} to give a default)"))
            }
        }
        out += rest
        return out
    }

    static func readFile(_ path: String) -> Result<String, ReadFileError> {
        do {
            return .success(try FileSystem.readText(path))
        } catch {
            return .failure(ReadFileError(reason: error.reason))
        }
    }
}
