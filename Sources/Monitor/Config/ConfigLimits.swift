/// Bounds on what reading one config source may cost, so a hostile or broken config (a YAML alias
/// bomb in `$CONFIG`, a runaway generator) fails in milliseconds with an error instead of taking
/// the process, or the container's health check, down.
///
/// Each source (a file, or `$CONFIG`, `$CHECKS`, `$NOTIFIERS`) is bounded on its own.
public struct ConfigLimits: Sendable, Hashable {
    /// Bytes of YAML text in one source; a file is refused before it is read whole.
    public var sourceBytes: Int
    /// Alias expansions in one source, counted in the expanded document: an alias whose anchor
    /// holds more aliases counts those again each time it is used.
    public var aliasExpansions: Int
    /// YAML nodes (scalars, keys included, sequences and mappings) in one source once every
    /// alias is expanded.
    public var nodes: Int
    /// Nested sequences and mappings, aliases expanded; the top-level mapping is level 1.
    public var depth: Int

    /// The limits every command uses (change a copy for others).
    ///
    /// The node budget: the largest real config, 100,000 hostport checks written as the
    /// benchmarks write them (`c1: {host: 127.0.0.1, port: 9, sleep: 1}`, with settings and a
    /// notifier: 4.9 MB, so two sources under the byte limit), is 800,019 nodes, 8 per check.
    /// The budget is what 4 MiB of text can hold without an alias (`[a,a,a,…]`, 2 bytes a node):
    /// 2,097,152, 2.6 times that config, so aliases never buy a source more than its text could
    /// have written out.
    public static let standard = ConfigLimits(
        sourceBytes: 4 << 20, aliasExpansions: 10_000, nodes: (4 << 20) / 2, depth: 64)

    /// The error for a source longer than `sourceBytes` (its size is all that is known of it).
    func tooLarge(_ name: String) -> ConfigDiagnostic {
        ConfigDiagnostic(
            .error, at: SourceLocation(file: name), path: "",
            "config source larger than \(Self.bytes(sourceBytes)), the limit of one source; split it into several (--config, --checks, --notifiers)")
    }

    /// `4 MiB (4194304 bytes)`, or `1000 bytes`.
    private static func bytes(_ count: Int) -> String {
        count >= 1 << 20 && count % (1 << 20) == 0 ? "\(count >> 20) MiB (\(count) bytes)" : "\(count) bytes"
    }
}
