/// Where the configuration comes from, resolved from the CLI and the environment exactly as the
/// original tool did, in merge order (later sources override earlier ones key by key).
public struct ConfigSource: Sendable, Hashable {
    /// Which part of the config a source holds.
    public enum Section: String, Sendable, Hashable {
        /// A whole config (`checks:` and `notifiers:`).
        case whole
        /// The `checks` section only (its content, or a document with a `checks:` key).
        case checks
        /// The `notifiers` section only.
        case notifiers
    }

    public var section: Section
    /// A file path, or the environment variable's name (`$CONFIG`) for inline YAML.
    public var name: String
    /// Inline YAML; `nil` means read the file `name`.
    public var text: String?

    public init(section: Section, name: String, text: String? = nil) {
        self.section = section
        self.name = name
        self.text = text
    }

    /// The sources for the given command-line options and environment.
    ///
    /// - Whole config files: `--config` (several, in order) and `--config-file`; when neither is
    ///   given, `CONFIG_FILE`, else `HEALTHMONITOR_CONFIG_FILE`; then inline YAML in `CONFIG`.
    /// - Checks: `--checks FILE`, else `CHECKS_FILE`; then inline YAML in `CHECKS`.
    /// - Notifiers: `--notifiers FILE`, else `NOTIFIERS_FILE`; then inline YAML in `NOTIFIERS`.
    /// - When nothing above is given, `config.yml` in the working directory.
    public static func resolve(
        configFiles: [String], checksFile: String?, notifiersFile: String?, environment: [String: String]
    ) -> [ConfigSource] {
        func env(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        var sources: [ConfigSource] = []
        if !configFiles.isEmpty {
            sources += configFiles.map { ConfigSource(section: .whole, name: $0) }
        } else if let file = env("CONFIG_FILE") ?? env("HEALTHMONITOR_CONFIG_FILE") {
            sources.append(ConfigSource(section: .whole, name: file))
        }
        if let text = env("CONFIG") { sources.append(ConfigSource(section: .whole, name: "$CONFIG", text: text)) }
        if let file = checksFile ?? env("CHECKS_FILE") { sources.append(ConfigSource(section: .checks, name: file)) }
        if let text = env("CHECKS") { sources.append(ConfigSource(section: .checks, name: "$CHECKS", text: text)) }
        if let file = notifiersFile ?? env("NOTIFIERS_FILE") {
            sources.append(ConfigSource(section: .notifiers, name: file))
        }
        if let text = env("NOTIFIERS") {
            sources.append(ConfigSource(section: .notifiers, name: "$NOTIFIERS", text: text))
        }
        if sources.isEmpty { sources.append(ConfigSource(section: .whole, name: "config.yml")) }
        return sources
    }
}
