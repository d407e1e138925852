/// A check's or notifier's validated options, typed and with defaults filled in.
public struct Options: Sendable, Hashable {
    /// Typed values by option name.
    public var values: [String: JSONValue]
    /// Where each option was written, for errors found after validation.
    public var locations: [String: SourceLocation]
    /// The key path of the owning mapping, e.g. `checks.ping.clowder`.
    public var path: String
    /// Where the owning mapping's key was written (`clowder:`), for problems with no one option.
    public var location: SourceLocation?

    public init(
        _ values: [String: JSONValue], path: String = "", locations: [String: SourceLocation] = [:],
        location: SourceLocation? = nil
    ) {
        self.values = values
        self.path = path
        self.location = location
        self.locations = locations
    }

    public subscript(name: String) -> JSONValue? { values[name] }

    /// Text option, or `nil` when absent.
    public func string(_ name: String) -> String? { values[name]?.stringValue }
    /// Integer option, or `nil` when absent.
    public func int(_ name: String) -> Int? { values[name]?.intValue }
    /// Number or duration option (seconds for durations), or `nil` when absent.
    public func double(_ name: String) -> Double? { values[name]?.doubleValue }
    /// Boolean option, or `nil` when absent.
    public func bool(_ name: String) -> Bool? { values[name]?.boolValue }
    /// List option, or `nil` when absent.
    public func strings(_ name: String) -> [String]? { values[name]?.arrayValue?.compactMap(\.stringValue) }
    /// Mapping option, or `nil` when absent.
    public func stringMap(_ name: String) -> [String: String]? {
        values[name]?.objectValue?.compactMapValues(\.stringValue)
    }

    /// A diagnostic about option `name` (or, with an empty name, the whole mapping), located
    /// where it was written.
    public func problem(_ name: String, _ message: String) -> ConfigDiagnostic {
        ConfigDiagnostic(
            .error, at: locations[name] ?? location ?? SourceLocation(file: "config"),
            path: name.isEmpty ? path : path + "." + name, message)
    }
}

/// Printed (a log line that interpolates a config, a debugger), options show secrets masked:
/// the default reflection would print passwords, tokens and webhook URLs as written.
extension Options: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "\(path): \(SecretMasking.masked(.object(values)).json())"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["masked": description]) }
}
