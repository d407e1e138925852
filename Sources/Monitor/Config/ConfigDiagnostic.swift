/// A place in a config source: file (or environment variable) name, 1-based line and column.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int = 0, column: Int = 0) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `config.yml:12:7`, or just the file when the position is unknown.
    public var description: String { line > 0 ? "\(file):\(line):\(column)" : file }
}

/// One problem found in the configuration.
public struct ConfigDiagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    public var severity: Severity
    public var location: SourceLocation
    /// The dotted key path, e.g. `checks.ping.clowder.count`.
    public var path: String
    /// What is wrong and what is expected.
    public var message: String

    public init(_ severity: Severity, at location: SourceLocation, path: String, _ message: String) {
        self.severity = severity
        self.location = location
        self.path = path
        self.message = message
    }

    /// `config.yml:12:7: error: checks.ping.clowder.count: found "five", expected an integer`,
    /// on one line: what the config wrote (`found "a\nb"`, a key) is shown escaped.
    public var description: String {
        "\(location): \(severity.rawValue): \(path.isEmpty ? "" : path + ": ")\(message)".escapingUnprintable
    }
}

/// The configuration could not be used: every error found (and the warnings), not just the first.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]

    public init(_ diagnostics: [ConfigDiagnostic]) {
        self.diagnostics = diagnostics
    }

    /// The errors only.
    public var errors: [ConfigDiagnostic] { diagnostics.filter { $0.severity == .error } }

    public var description: String {
        let count = errors.count
        return "configuration has \(count) error\(count == 1 ? "" : "s"):\n"
            + diagnostics.map { "  " + $0.description }.joined(separator: "\n")
    }
}
