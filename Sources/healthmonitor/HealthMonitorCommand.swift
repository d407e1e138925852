import ArgumentParser
import Foundation
import HTTPFace
import HistorySQLite
import Logging
import Monitor
import Notifiers
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// The version printed by `--version`.
let healthmonitorVersion = "0.1.0"

@main
struct HealthMonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthmonitor",
        abstract: "Checks services on a schedule and reports results to notifiers.",
        discussion: """
            Configuration comes from --config files (merged in order), else $CONFIG_FILE or \
            $HEALTHMONITOR_CONFIG_FILE, plus inline YAML in $CONFIG; --checks/$CHECKS_FILE/$CHECKS and \
            --notifiers/$NOTIFIERS_FILE/$NOTIFIERS add sections; with none of these, ./config.yml.

            Examples:
              healthmonitor                              run forever on ./config.yml
              healthmonitor run --config base.yml --config site.yml
              healthmonitor validate --config config.yml check a config, print a summary
              healthmonitor once --config config.yml     run every check once (exit 1 if any failed)
              healthmonitor health                       is the running monitor alive? (container health checks)
              healthmonitor report --since 24h           uptime, incidents and latency from the history
              healthmonitor agent --location eu --cluster-uri amqp://…   a probe of a distributed monitor
              CONFIG="$(cat config.yml)" healthmonitor   config from the environment
            """,
        version: healthmonitorVersion,
        subcommands: [Run.self, Validate.self, Once.self, Health.self, ReportCommand.self, AgentCommand.self],
        defaultSubcommand: Run.self
    )
}

/// Options shared by every subcommand.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("config"), parsing: .singleValue, help: "Config file (repeat to merge several, later wins).")
    var configFiles: [String] = []

    @Option(name: .customLong("config-file"), help: ArgumentHelp("Deprecated alias of --config.", visibility: .hidden))
    var configFile: String?

    @Option(name: .customLong("checks"), help: "File with the checks section.")
    var checksFile: String?

    @Option(name: .customLong("notifiers"), help: "File with the notifiers section.")
    var notifiersFile: String?

    @Option(name: .customLong("state-dir"), help: "Directory for policy state and spools (overrides settings.state_dir).")
    var stateDirectory: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    /// Process set-up every subcommand does first; returns the logger.
    func makeLogger() -> Logger {
        Self.makeLogger(level: logLevel)
    }

    /// Process set-up for a command without a config (`agent`); returns the logger.
    static func makeLogger(level: Logger.Level) -> Logger {
        MemoryTuning.configureMalloc()
        LoggingSystem.bootstrap { label in
            // One record a line, whatever a message or metadata holds (a server's CR/LF).
            var handler = StreamLogHandler(label: label, stream: LogLineStream(FileOutput.standardError))
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "healthmonitor")
        logger.logLevel = level
        return logger
    }

    func loadConfig(logger: Logger) throws -> MonitorConfig {
        var files = configFiles
        if let configFile {
            logger.warning("--config-file is deprecated; use --config")
            files.append(configFile)
        }
        var environment: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                environment[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        let sources = ConfigSource.resolve(
            configFiles: files, checksFile: checksFile, notifiersFile: notifiersFile, environment: environment)
        let loader = ConfigLoader(checkKinds: CheckKinds.all, notifierKinds: notifierKinds, environment: environment)
        var config = try loader.load(sources)
        if let stateDirectory { config.settings.stateDirectory = stateDirectory }
        return config
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Prints a config error to stderr and exits non-zero.
func reportConfigError(_ error: ConfigError) -> ExitCode {
    FileOutput.standardError.write(error.description + "\n")
    return ExitCode(2)
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run every check on its schedule, forever (the default).")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = common.makeLogger()
        _ = metricsRegistry
        let runtime: Runtime
        let face: HTTPFace?
        let cluster: ClusterWiring
        do {
            var config = try common.loadConfig(logger: logger)
            for warning in config.warnings { logger.warning("\(warning)") }
            cluster = try ClusterWiring(&config, logger: logger)
            runtime = try Runtime(
                config: config, checkKinds: cluster.checkKinds, notifierKinds: notifierKinds, logger: logger,
                historyStores: openHistory(config, logger: logger))
            face = try makeHTTPFace(runtime, logger: logger)
            cluster.attach(to: runtime)
        } catch let error as ConfigError {
            throw reportConfigError(error)
        } catch let error as HTTPFace.SetupError {
            FileOutput.standardError.write("\(error)\n")
            throw ExitCode(2)
        }
        logger.info(
            "healthmonitor started",
            metadata: [
                "version": "\(healthmonitorVersion)", "checks": "\(runtime.checks.count)",
                "notifiers": "\(runtime.channels.map(\.config.name).joined(separator: ","))",
                "state_dir": "\(runtime.settings.stateDirectory)",
            ])
        // The code that read the config, now (the services have their own), and again once they run.
        StartupCodeRelease.release(after: "config", logger: logger)
        // The HTTP face starts last and stops first.
        let services = runtime.services(remote: cluster.controller) + (face.map { [$0] } ?? [])
        try await StopControl.run(
            services.map { .init(service: $0) } + [StartupCodeRelease(logger: logger).configuration],
            shutdownTimeout: runtime.settings.shutdownTimeout, logger: logger)
        for channel in runtime.channels {
            let s = channel.stats
            logger.info(
                "notifier totals",
                metadata: [
                    "notifier": "\(channel.config.name)", "delivered": "\(s.delivered)", "failed": "\(s.failed)",
                    "overflowed": "\(s.overflowed)",
                ])
        }
        logger.info("healthmonitor stopped")
    }
}

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the configuration: print a summary, or every error (exit 2).")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = common.makeLogger()
        let config: MonitorConfig
        do {
            config = try common.loadConfig(logger: logger)
            // Build every check and notifier too (without running them), so problems only found
            // then (an unusable address, a bad URL) are reported here as well. Their state goes to a
            // scratch directory: validating must not touch the real one.
            var scratch = config
            scratch.settings.stateDirectory = try ScratchDirectory.make()
            defer { ScratchDirectory.remove(scratch.settings.stateDirectory) }
            let cluster = try ClusterWiring(&scratch, logger: logger)
            _ = try Runtime(config: scratch, checkKinds: cluster.checkKinds, notifierKinds: notifierKinds, logger: logger)
        } catch let error as ConfigError {
            throw reportConfigError(error)
        }
        // One line per item; what came from the config or the command line is escaped
        // (labels and names are printable already, paths need not be).
        var out = "configuration OK (\(config.sources.joined(separator: ", ").escapingUnprintable))\n"
        for warning in config.warnings { out += "  \(warning)\n" }
        out += "checks (\(config.checks.count)):\n"
        for check in config.checks {
            out += "  \(check.key.escapingUnprintable)  every \(JSONValue.format(check.sleep)) s"
            if let t = check.threshold { out += ", threshold \(t)" }
            out += "\n"
        }
        out += "notifiers (\(config.notifiers.count)):\n"
        for n in config.notifiers {
            out += "  \(n.name.escapingUnprintable) (\(n.type))  report \(n.report.rawValue), threshold \(n.threshold)"
            if n.resolved { out += ", resolved" }
            if let r = n.repeatInterval { out += ", repeat \(JSONValue.format(r)) s" }
            out += "\n"
        }
        out += "state directory: \(config.settings.stateDirectory.escapingUnprintable)\n"
        FileOutput.standardOutput.write(out)
    }
}

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exit 0 if the monitor using this state directory wrote its heartbeat recently (for container health checks).")

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("max-age"), help: "Seconds a heartbeat stays fresh (it is written every 10 s).")
    var maxAge: Double = 60

    func run() async throws {
        let logger = common.makeLogger()
        let stateDirectory: String
        if let explicit = common.stateDirectory {
            stateDirectory = explicit
        } else {
            do {
                stateDirectory = try common.loadConfig(logger: logger).settings.stateDirectory
            } catch let error as ConfigError {
                throw reportConfigError(error)
            }
        }
        let (healthy, summary) = Heartbeat.check(stateDirectory: stateDirectory, maxAge: maxAge)
        FileOutput.standardOutput.write(summary + "\n")
        if !healthy { throw ExitCode(1) }
    }
}

struct Once: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every check once, deliver the results, print a summary; exit 1 if any failed.")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let logger = common.makeLogger()
        let runtime: Runtime
        let cluster: ClusterWiring
        do {
            var config = try common.loadConfig(logger: logger)
            // Checks of other locations go to their agents; no agents/LOCATION check (a single
            // run could not have heard a heartbeat yet).
            cluster = try ClusterWiring(&config, agentsChecks: false, logger: logger)
            runtime = try Runtime(
                config: config, checkKinds: cluster.checkKinds, notifierKinds: notifierKinds, logger: logger,
                historyStores: openHistory(config, logger: logger))
        } catch let error as ConfigError {
            throw reportConfigError(error)
        }
        let runner = OnceRunner(runtime: runtime, remote: cluster.controller)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: runtime.deliveryGroup())]
        for history in runtime.router.histories { services.append(.init(service: history)) }
        if let controller = cluster.controller { services.append(.init(service: controller)) }
        services.append(.init(service: runner, successTerminationBehavior: .gracefullyShutdownGroup))
        try await StopControl.run(services, shutdownTimeout: runtime.settings.shutdownTimeout, logger: logger)
        let results = runner.results
        let answered = Set(results.map(\.key))
        let missing = runtime.checks.map(\.config).filter { !answered.contains($0.key) }
        FileOutput.standardOutput.write(Summary.table(results, missing: missing))
        if !missing.isEmpty || results.contains(where: { $0.status == .failure }) {
            throw ExitCode(1)
        }
    }
}

/// A temporary directory for `validate`, removed afterwards.
enum ScratchDirectory {
    static func make() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("healthmonitor-validate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}


/// The history stores of `config` when `settings.history` is on: `STATE/history.sqlite`, and
/// beside each `mongo` notifier's collection its `_hourly`, `_raw` and `_changes` collections.
/// A store that cannot be opened is left out, and the log says so.
func openHistory(_ config: MonitorConfig, logger: Logger) -> [(name: String, store: any HistoryStore)] {
    guard config.settings.history.enabled else { return [] }
    var stores: [(name: String, store: any HistoryStore)] = []
    let path = config.settings.stateDirectory + "/history.sqlite"
    do {
        try FileSystem.makeDirectories(config.settings.stateDirectory)
        stores.append(("history", try SQLiteHistoryStore(path: path)))
    } catch {
        logger.error("history not recorded: cannot open the history store", metadata: ["path": "\(path)", "error": "\(error)"])
    }
    for (i, notifier) in config.notifiers.filter({ $0.type == MongoNotifier.kind.name }).enumerated() {
        do {
            // Thread names hold 15 characters: history-mongo, history-mongo2, …
            stores.append(("history-mongo" + (i == 0 ? "" : "\(i + 1)"), try MongoHistoryStore(settings: .init(options: notifier.options))))
        } catch {
            logger.error("history not recorded in Mongo", metadata: ["notifier": "\(notifier.name)", "error": "\(error)"])
        }
    }
    return stores
}
