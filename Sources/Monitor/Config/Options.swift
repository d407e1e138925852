/// A check's or notifier's validated options, typed and with defaults filled in.
///
/// The values written for this mapping are kept apart from the defaults, which every mapping of
/// the same kind shares (`LayeredValues`). `values` is the two merged.
public struct Options: Sendable, Hashable {
    /// Typed values: those written for this mapping over its kind's defaults.
    public private(set) var layers: LayeredValues
    /// Where each option was written, for errors found after validation.
    public var locations: [String: SourceLocation]
    /// The key path of the owning mapping, e.g. `checks.ping.clowder`.
    public var path: String
    /// Where the owning mapping's key was written (`clowder:`), for problems with no one option.
    public var location: SourceLocation?

    public init(
        _ values: [String: JSONValue], path: String = "", locations: [String: SourceLocation] = [:],
        location: SourceLocation? = nil, defaults: [String: JSONValue] = [:]
    ) {
        self.layers = LayeredValues(values, defaults: defaults)
        self.path = path
        self.location = location
        self.locations = locations
    }

    /// Typed values by option name, defaults filled in. Setting it replaces both layers.
    public var values: [String: JSONValue] {
        get { layers.merged }
        set { layers.merged = newValue }
    }

    /// The values alone, for a check that runs: where each option was written and the
    /// mapping's path only serve errors found while building it.
    public var withoutLocations: Options { Options(layers.written, defaults: layers.defaults) }

    public subscript(name: String) -> JSONValue? { layers[name] }

    /// Text option, or `nil` when absent.
    public func string(_ name: String) -> String? { self[name]?.stringValue }
    /// Integer option, or `nil` when absent.
    public func int(_ name: String) -> Int? { self[name]?.intValue }
    /// Number or duration option (seconds for durations), or `nil` when absent.
    public func double(_ name: String) -> Double? { self[name]?.doubleValue }
    /// Boolean option, or `nil` when absent.
    public func bool(_ name: String) -> Bool? { self[name]?.boolValue }
    /// List option, or `nil` when absent.
    public func strings(_ name: String) -> [String]? { self[name]?.arrayValue?.compactMap(\.stringValue) }
    /// Mapping option, or `nil` when absent.
    public func stringMap(_ name: String) -> [String: String]? {
        self[name]?.objectValue?.compactMapValues(\.stringValue)
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
