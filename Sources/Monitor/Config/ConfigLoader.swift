/// Reads, merges, substitutes and validates the configuration, collecting every problem.
public struct ConfigLoader: Sendable {
    /// Options every check accepts.
    public static let commonCheckOptions: [OptionSpec] = [
        OptionSpec("sleep", .duration(minimum: 0.001), default: 60, help: "seconds between the starts of two runs"),
        OptionSpec("threshold", .integer(0...Int.max), help: "overrides the notifiers' threshold for this check"),
        OptionSpec("locations", .stringList, help: "where it runs: local (this process) and agents' locations (settings.cluster); default [local]"),
        OptionSpec("quorum", .integer(1...Int.max), help: "with several locations: down (for the notifiers) only while this many of them fail"),
    ]

    /// Options every notifier accepts.
    public static let commonNotifierOptions: [OptionSpec] = [
        OptionSpec("type", .string, help: "the notifier type, when the name is not one (e.g. two slack notifiers)"),
        OptionSpec("report", .choice(ReportMode.allCases.map(\.rawValue)), default: "failure", help: "which results to send"),
        OptionSpec("threshold", .integer(0...Int.max), default: 1, help: "consecutive results before change/failure report"),
        OptionSpec("resolved", .boolean, default: false, help: "with report: failure, also send the recovery"),
        OptionSpec("repeat", .duration(minimum: 1), help: "with report: failure, re-send every this many seconds while failing"),
        OptionSpec("queue_size", .integer(1...Int.max), default: 10000, help: "results queued before overflow"),
        OptionSpec("overflow", .choice(OverflowPolicy.allCases.map(\.rawValue)), default: "drop_oldest", help: "what a full queue drops"),
        OptionSpec("retries", .integer(0...Int.max), default: 3, help: "retries of a failed delivery, with backoff"),
        OptionSpec("batch_size", .integer(1...Int.max), default: 100, help: "results handed over in one delivery"),
    ]

    /// Options of the `settings:` section.
    public static let settingsOptions: [OptionSpec] = [
        OptionSpec("state_dir", .string, default: "state", help: "where policy state and spools are kept"),
        OptionSpec("shutdown_timeout", .duration(), default: 10, help: "seconds to flush notifiers at shutdown"),
        OptionSpec("host", .string, help: "host name put in results (default: this machine's)"),
        OptionSpec("history", .stringMap, help: "the history recorder: enabled, keep_results, keep_rollups"),
        OptionSpec("http", .stringMap, help: "the HTTP face: listen, token (or token_file), cert_file, key_file"),
        OptionSpec("cluster", .stringMap, help: "distributed checks: uri (the broker), name (this controller's)"),
        OptionSpec(
            "timer_slack", .string, default: .string(MonitorSettings.defaultTimerSlackText),
            help: "how much of its sleep (at most 1 s) a run may start early, to share a wake-up with other runs; 0% or off: never early"),
    ]

    /// Options of `settings.cluster:`.
    public static let clusterOptions: [OptionSpec] = [
        OptionSpec("uri", .string, help: "the broker agents and controller meet on: amqp://user:password@host:5672/vhost"),
        OptionSpec("name", .string, help: "this controller's name in run requests (default: settings.host)"),
    ]

    /// Options of `settings.history:`.
    public static let historyOptions: [OptionSpec] = [
        OptionSpec("enabled", .boolean, default: true, help: "record every result for `healthmonitor report`"),
        OptionSpec("keep_results", .duration(minimum: 3600), default: .double(7 * 86400), help: "seconds raw results are kept"),
        OptionSpec("keep_rollups", .duration(minimum: 86400), default: .double(400 * 86400), help: "seconds hourly rollups are kept"),
    ]

    /// Options of `settings.http:`.
    public static let httpOptions: [OptionSpec] = [
        OptionSpec("listen", .string, default: "127.0.0.1:9464", help: "HOST:PORT of the status page, API and /metrics; off: no HTTP"),
        OptionSpec("token", .string, help: "bearer token every route but /healthz requires (token_file: read it from a file)"),
        OptionSpec("cert_file", .string, help: "PEM certificate chain: serve HTTPS (with key_file)"),
        OptionSpec("key_file", .string, help: "PEM private key of cert_file"),
    ]

    public var checkKinds: [String: CheckKind]
    public var notifierKinds: [String: NotifierKind]
    public var environment: [String: String]
    /// What reading one source may cost (`ConfigLimits.standard`; tests lower it).
    public var limits = ConfigLimits.standard

    public init(checkKinds: [CheckKind], notifierKinds: [NotifierKind], environment: [String: String]) {
        self.checkKinds = Dictionary(checkKinds.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.notifierKinds = Dictionary(notifierKinds.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.environment = environment
    }

    /// Reads every source and validates the merged result.
    public func load(_ sources: [ConfigSource]) throws(ConfigError) -> MonitorConfig {
        var diagnostics: [ConfigDiagnostic] = []
        var root = ConfigNode(.mapping([]), at: SourceLocation(file: sources.first?.name ?? "config"))
        for source in sources {
            let text: String
            if let inline = source.text {
                text = inline
            } else {
                do {
                    text = try FileSystem.readText(source.name, maxBytes: limits.sourceBytes)
                } catch where error.isTooLarge {
                    diagnostics.append(limits.tooLarge(source.name))
                    continue
                } catch {
                    let hint = source.name == "config.yml"
                        ? " (no config given: pass --config FILE, or set CONFIG_FILE or CONFIG)" : ""
                    diagnostics.append(
                        ConfigDiagnostic(.error, at: SourceLocation(file: source.name), path: "", "cannot read config: \(error.reason)\(hint)"))
                    continue
                }
            }
            do {
                let node = try ConfigNode.parse(yaml: text, name: source.name, limits: limits)
                root = root.merged(with: wrap(node, section: source.section))
            } catch {
                diagnostics.append(error)
            }
        }
        if diagnostics.contains(where: { $0.severity == .error }) { throw ConfigError(diagnostics) }
        var interpolation = Interpolation(environment: environment)
        interpolation.declaredOptions = { path, entries in declaredOptions(at: path, entries: entries) }
        let resolved = interpolation.apply(root, path: "", into: &diagnostics)
        let config = validate(resolved, sources: sources.map(\.name), into: &diagnostics)
        guard !diagnostics.contains(where: { $0.severity == .error }), var config else {
            throw ConfigError(diagnostics)
        }
        config.warnings = diagnostics
        return config
    }

    /// A section-only source becomes `{checks: …}` unless it already has that key.
    private func wrap(_ node: ConfigNode, section: ConfigSource.Section) -> ConfigNode {
        guard section != .whole else { return node }
        let key = section.rawValue
        if let entries = node.entries, entries.count == 1, entries[0].key == key { return node }
        return ConfigNode(.mapping([ConfigNode.Entry(key: key, keyLocation: node.location, value: node)]), at: node.location)
    }

    private func validate(
        _ root: ConfigNode, sources: [String], into diagnostics: inout [ConfigDiagnostic]
    ) -> MonitorConfig? {
        guard let top = root.entries else {
            diagnostics.append(
                ConfigDiagnostic(.error, at: root.location, path: "", "found \(root.foundDescription), expected a mapping with checks: and notifiers:"))
            return nil
        }
        let sections = ["checks", "notifiers", "settings"]
        for entry in top where !sections.contains(entry.key) {
            diagnostics.append(
                ConfigDiagnostic(.warning, at: entry.keyLocation, path: entry.key,
                    "unknown section, ignored\(Suggestions.hint(for: entry.key, in: sections)); sections are checks, notifiers, settings"))
        }

        let settingsOptions = options(root["settings"], specs: Self.settingsOptions, path: "settings", into: &diagnostics)
        let historyOptions = options(root["settings"]?["history"], specs: Self.historyOptions, path: "settings.history", into: &diagnostics)
        let httpOptions = options(root["settings"]?["http"], specs: Self.httpOptions, path: "settings.http", into: &diagnostics)
        var http = HTTPSettings(
            token: httpOptions.string("token"), certFile: httpOptions.string("cert_file"), keyFile: httpOptions.string("key_file"))
        if let token = http.token, token.count < 16 || token.contains(where: \.isWhitespace) {
            diagnostics.append(
                ConfigDiagnostic(
                    .error, at: root["settings"]?["http"]?.location ?? root.location, path: "settings.http.token",
                    "expected one token of at least 16 characters, without spaces (found \(token.count) characters)"))
        }
        let listenText = httpOptions.string("listen") ?? "127.0.0.1:9464"
        switch HTTPSettings.parseListen(listenText) {
        case .success(let listen): http.listen = listen
        case .failure:
            diagnostics.append(
                ConfigDiagnostic(
                    .error, at: root["settings"]?["http"]?["listen"]?.location ?? root.location, path: "settings.http.listen",
                    "found \"\(listenText)\", expected HOST:PORT (127.0.0.1:9464, [::1]:9464, :9464 for all interfaces) or off"))
        }
        if (http.certFile == nil) != (http.keyFile == nil) {
            diagnostics.append(
                ConfigDiagnostic(
                    .error, at: root["settings"]?["http"]?.location ?? root.location, path: "settings.http",
                    "cert_file and key_file go together: set both for HTTPS, or neither"))
        }
        var cluster: ClusterSettings?
        if let clusterNode = root["settings"]?["cluster"] {
            let clusterOptions = options(clusterNode, specs: Self.clusterOptions, path: "settings.cluster", into: &diagnostics)
            if let uri = clusterOptions.string("uri"), !uri.isEmpty {
                cluster = ClusterSettings(
                    uri: uri, name: clusterOptions.string("name") ?? settingsOptions.string("host") ?? HostName.current,
                    location: clusterNode["uri"]?.location ?? clusterNode.location)
            } else {
                diagnostics.append(
                    ConfigDiagnostic(.error, at: clusterNode.location, path: "settings.cluster.uri", "the broker is required: uri: amqp://user:password@host:5672/vhost"))
            }
        }
        var settings = MonitorSettings(
            stateDirectory: settingsOptions.string("state_dir") ?? "state",
            shutdownTimeout: settingsOptions.double("shutdown_timeout") ?? 10,
            host: settingsOptions.string("host") ?? HostName.current,
            history: HistorySettings(
                enabled: historyOptions.bool("enabled") ?? true, keepResults: historyOptions.double("keep_results") ?? 7 * 86400,
                keepRollups: historyOptions.double("keep_rollups") ?? 400 * 86400),
            http: http)
        settings.cluster = cluster
        if let text = settingsOptions.string("timer_slack") {
            if let slack = MonitorSettings.parseTimerSlack(text) {
                settings.timerSlack = slack
            } else {
                diagnostics.append(
                    ConfigDiagnostic(
                        .error, at: root["settings"]?["timer_slack"]?.location ?? root.location, path: "settings.timer_slack",
                        "found \"\(text)\", expected \(MonitorSettings.timerSlackExpected)"))
            }
        }

        var checks: [CheckConfig] = []
        if let checksNode = root["checks"], let types = checksNode.entries, !types.isEmpty {
            for typeEntry in types {
                guard let kind = checkKinds[typeEntry.key] else {
                    let names = checkKinds.keys.sorted()
                    diagnostics.append(
                        ConfigDiagnostic(.error, at: typeEntry.keyLocation, path: "checks.\(typeEntry.key)",
                            "unknown check type\(Suggestions.hint(for: typeEntry.key, in: names)); valid types: \(names.joined(separator: ", "))"))
                    continue
                }
                guard let labels = typeEntry.value.entries else {
                    diagnostics.append(
                        ConfigDiagnostic(.error, at: typeEntry.value.location, path: "checks.\(typeEntry.key)",
                            "found \(typeEntry.value.foundDescription), expected a mapping of labels to check options"))
                    continue
                }
                // Made once per type: every check of the type shares them (masked: what results
                // carry as `config`, with each check's written values over them).
                let specs = Self.commonCheckOptions + kind.options
                let defaults = Self.defaults(of: specs)
                let maskedDefaults = SecretMasking.masked(.object(defaults)).objectValue ?? [:]
                for labelEntry in labels {
                    let path = "checks.\(typeEntry.key).\(labelEntry.key)"
                    if let problem = Self.nameProblem(labelEntry.key, "label") {
                        diagnostics.append(ConfigDiagnostic(.error, at: labelEntry.keyLocation, path: path, problem))
                    }
                    let opts = options(
                        labelEntry.value, specs: specs, path: path, at: labelEntry.keyLocation, defaults: defaults, into: &diagnostics)
                    let masked = SecretMasking.masked(.object(opts.layers.written)).objectValue ?? [:]
                    let places = locations(opts, path: path, node: labelEntry.value, cluster: cluster, into: &diagnostics)
                    let quorum = opts.int("quorum")
                    if let quorum, places.count < 2 || quorum > places.count {
                        diagnostics.append(
                            ConfigDiagnostic(
                                .error, at: labelEntry.value["quorum"]?.location ?? labelEntry.keyLocation, path: path + ".quorum",
                                "found \(quorum), expected a number from 1 to the number of locations (\(places.count)); a quorum needs two locations or more"))
                    }
                    for location in places {
                        checks.append(
                            CheckConfig(
                                type: kind.name, label: labelEntry.key, sleep: opts.double("sleep") ?? 60,
                                threshold: opts.int("threshold"), options: opts, maskedConfig: LayeredValues(masked, defaults: maskedDefaults),
                                location: quorum == nil ? location : location ?? CheckConfig.localLocation, quorum: quorum))
                    }
                }
            }
        } else {
            diagnostics.append(
                ConfigDiagnostic(.error, at: root["checks"]?.location ?? root.location, path: "checks",
                    "no checks configured; expected a mapping of check types (\(checkKinds.keys.sorted().joined(separator: ", "))) to labelled checks"))
        }

        var notifiers: [NotifierConfig] = []
        if let notifiersNode = root["notifiers"], notifiersNode.kind != .null {
            guard let names = notifiersNode.entries else {
                diagnostics.append(
                    ConfigDiagnostic(.error, at: notifiersNode.location, path: "notifiers",
                        "found \(notifiersNode.foundDescription), expected a mapping of notifier names to options"))
                return nil
            }
            for entry in names {
                let path = "notifiers.\(entry.key)"
                if let problem = Self.nameProblem(entry.key, "notifier name") {
                    diagnostics.append(ConfigDiagnostic(.error, at: entry.keyLocation, path: path, problem))
                }
                var typeName = entry.key
                if case .scalar(let t) = entry.value["type"]?.kind { typeName = t }
                guard let kind = notifierKinds[typeName] else {
                    let valid = notifierKinds.keys.sorted()
                    diagnostics.append(
                        ConfigDiagnostic(.error, at: entry.value["type"]?.location ?? entry.keyLocation, path: path,
                            "unknown notifier type \"\(typeName)\"\(Suggestions.hint(for: typeName, in: valid)); valid types: \(valid.joined(separator: ", ")) (name a notifier freely and set type: to one of these)"))
                    continue
                }
                let common = Self.commonNotifierOptions.map { spec -> OptionSpec in
                    guard spec.name == "report" else { return spec }
                    var perKind = spec
                    perKind.defaultValue = .string(kind.defaultReport.rawValue)
                    return perKind
                }
                let opts = options(entry.value, specs: common + kind.options, path: path, at: entry.keyLocation, into: &diagnostics)
                notifiers.append(
                    NotifierConfig(
                        name: entry.key, type: kind.name,
                        report: ReportMode(rawValue: opts.string("report") ?? "") ?? kind.defaultReport,
                        threshold: opts.int("threshold") ?? 1, resolved: opts.bool("resolved") ?? false,
                        repeatInterval: opts.double("repeat"), queueSize: opts.int("queue_size") ?? 10000,
                        overflow: OverflowPolicy(rawValue: opts.string("overflow") ?? "") ?? .dropOldest,
                        retries: opts.int("retries") ?? 3, batchSize: opts.int("batch_size") ?? 100, options: opts))
            }
        } else {
            diagnostics.append(
                ConfigDiagnostic(.warning, at: root.location, path: "notifiers",
                    "no notifiers configured; every result goes to the console (add notifiers: to choose)"))
            if let console = notifierKinds["console"] {
                let opts = options(nil, specs: Self.commonNotifierOptions + console.options, path: "notifiers.console", into: &diagnostics)
                notifiers.append(
                    NotifierConfig(name: "console", type: "console", report: .always, threshold: 1, resolved: false,
                        repeatInterval: nil, queueSize: 10000, overflow: .dropOldest, retries: 3, batchSize: 100, options: opts))
            }
        }
        return MonitorConfig(checks: checks, notifiers: notifiers, settings: settings, warnings: [], sources: sources)
    }

    /// The longest check label or notifier name, in characters.
    public static let maxNameLength = 200

    /// Why `name` cannot be a check label or notifier name (`what`), else `nil`. Both go into
    /// every console line, log line and mail subject: printable text, on one line, not too long.
    static func nameProblem(_ name: String, _ what: String) -> String? {
        let rule = "a \(what) is printable text of at most \(maxNameLength) characters"
        if let (index, scalar) = name.unicodeScalars.enumerated().first(where: { !$0.element.isPrintable }) {
            return "\(what) has the unprintable character \(scalar.escaped(asASCII: true)) at position \(index + 1); \(rule)"
        }
        if name.count > maxNameLength { return "\(what) is \(name.count) characters long; \(rule)" }
        return nil
    }

    /// The option names declared for the mapping at `path`: `settings`, `checks.TYPE.LABEL` or
    /// `notifiers.NAME` (whose kind is its `type:`, else its name); none elsewhere.
    func declaredOptions(at path: String, entries: [ConfigNode.Entry]) -> Set<String> {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var specs: [OptionSpec] = []
        switch (parts.first, parts.count) {
        case ("settings", 1):
            specs = Self.settingsOptions
        case ("settings", 2):
            specs = parts[1] == "http" ? Self.httpOptions : parts[1] == "history" ? Self.historyOptions : []
        case ("checks", 3):
            specs = Self.commonCheckOptions + (checkKinds[parts[1]]?.options ?? [])
        case ("notifiers", 2):
            var typeName = parts[1]
            if let entry = entries.first(where: { $0.key == "type" }), case .scalar(let t) = entry.value.kind { typeName = t }
            specs = Self.commonNotifierOptions + (notifierKinds[typeName]?.options ?? [])
        default:
            break
        }
        return Set(specs.map(\.name))
    }

    /// The locations of a check (`locations:`): `nil` for `local` (this process), else the
    /// name of the agents' location. Each is checked: a valid name, no repeats, and a
    /// `settings.cluster` for any other location than `local`.
    private func locations(
        _ opts: Options, path: String, node: ConfigNode, cluster: ClusterSettings?, into diagnostics: inout [ConfigDiagnostic]
    ) -> [String?] {
        guard let listed = opts["locations"]?.arrayValue else { return [nil] }
        let at = node["locations"]?.location ?? node.location
        var seen: Set<String> = []
        var result: [String?] = []
        for name in listed.compactMap(\.stringValue) {
            guard seen.insert(name).inserted else {
                diagnostics.append(ConfigDiagnostic(.error, at: at, path: path + ".locations", "location \"\(name)\" listed twice"))
                continue
            }
            if name == "local" {
                result.append(nil)
            } else if !CheckConfig.isValidLocation(name) {
                diagnostics.append(
                    ConfigDiagnostic(.error, at: at, path: path + ".locations", "found \"\(name)\", expected local or a location name of 1 to 64 of a-z A-Z 0-9 - _"))
            } else if cluster == nil {
                diagnostics.append(
                    ConfigDiagnostic(.error, at: at, path: path + ".locations", "location \"\(name)\" needs settings.cluster (the broker its agents use)"))
            } else {
                result.append(name)
            }
        }
        if listed.isEmpty {
            diagnostics.append(ConfigDiagnostic(.error, at: at, path: path + ".locations", "expected at least one location (local, or an agents' location)"))
        }
        return result
    }

    /// The defaults of `specs`, by option name: what `options(...)` fills in.
    static func defaults(of specs: [OptionSpec]) -> [String: JSONValue] {
        var defaults: [String: JSONValue] = [:]
        for spec in specs { if let value = spec.defaultValue { defaults[spec.name] = value } }
        return defaults
    }

    /// Validates one options mapping against `specs`: types, required keys, unknown keys.
    /// `defaults`: `Self.defaults(of: specs)`, made once for many mappings of one kind, which
    /// then share it.
    func options(
        _ node: ConfigNode?, specs: [OptionSpec], path: String, at owner: SourceLocation? = nil,
        defaults: [String: JSONValue]? = nil, into diagnostics: inout [ConfigDiagnostic]
    ) -> Options {
        var values: [String: JSONValue] = [:]
        var locations: [String: SourceLocation] = [:]
        let entries: [ConfigNode.Entry]
        switch node?.kind {
        case .mapping(let e)?: entries = e
        case .null?, nil: entries = []
        default:
            diagnostics.append(
                ConfigDiagnostic(.error, at: node!.location, path: path, "found \(node!.foundDescription), expected a mapping of options"))
            entries = []
        }
        let names = specs.map(\.name)
        for entry in entries {
            let keyPath = "\(path).\(entry.key)"
            guard let spec = specs.first(where: { $0.name == entry.key }) else {
                diagnostics.append(
                    ConfigDiagnostic(.warning, at: entry.keyLocation, path: keyPath,
                        "unknown option, ignored\(Suggestions.hint(for: entry.key, in: names)); valid options: \(names.joined(separator: ", "))"))
                continue
            }
            if entry.value.kind == .null { continue }
            switch spec.convert(entry.value) {
            case .success(let value):
                values[entry.key] = value
                locations[entry.key] = entry.value.location
                if case .structure = spec.kind { OptionSpec.nestedLocations(entry.value, prefix: entry.key, into: &locations) }
            case .failure(let mismatch):
                diagnostics.append(ConfigDiagnostic(.error, at: entry.value.location, path: keyPath, mismatch.message))
            }
        }
        for spec in specs where values[spec.name] == nil {
            let written = entries.first { $0.key == spec.name }
            // A value that was written but invalid has been reported already.
            if let written, written.value.kind != .null { continue }
            if spec.required {
                diagnostics.append(
                    ConfigDiagnostic(.error, at: owner ?? node?.location ?? SourceLocation(file: "config"), path: "\(path).\(spec.name)",
                        "\(written != nil ? "is empty" : "is required"): expected \(spec.expected)\(spec.help.isEmpty ? "" : " (\(spec.help))")"))
            }
        }
        return Options(
            values, path: path, locations: locations, location: owner ?? node?.location, defaults: defaults ?? Self.defaults(of: specs))
    }
}
