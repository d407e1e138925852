import ArgumentParser
import Foundation
import HistorySQLite
import Logging
import Monitor
import Notifiers
import Report

/// `healthmonitor report`: uptime, incidents and latency percentiles from the history.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Uptime, incidents and response-time percentiles per check, from the recorded history.",
        discussion: """
            Reads STATE_DIR/history.sqlite (read-only; the monitor records it while it runs, \
            settings.history). Exit 2 on bad input, an unknown check or an unreadable store.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Start of the window: a duration back from now (24h, 7d, 30d, 90m) or an ISO-8601 time.")
    var since = "7d"

    @Option(help: "End of the window (same forms as --since); default: now.")
    var until: String?

    @Option(name: .customLong("check"), help: "TYPE/LABEL of a check (repeat for several); default: every check with history.")
    var checks: [String] = []

    @Option(help: "local (the SQLite history in the state directory), or mongo[:NAME] (the history beside the mongo notifier NAME's collection; default: the first mongo notifier).")
    var source = "local"

    @Option(help: "table, json, csv or html (one self-contained page: 90-day uptime bars, latency charts, incidents).")
    var format = "table"

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run() async throws {
        let logger = common.makeLogger()
        do {
            try await report(logger: logger)
        } catch let error as ConfigError {
            throw reportConfigError(error)
        } catch {
            FileOutput.standardError.write("healthmonitor report: \(error)\n")
            throw ExitCode(2)
        }
    }

    private func report(logger: Logger) async throws {
        guard ["table", "json", "csv", "html"].contains(format) else {
            throw Failure(description: "--format: found \"\(format)\", expected table, json, csv or html")
        }
        guard source == "local" || source == "mongo" || source.hasPrefix("mongo:") else {
            throw Failure(description: "--source: found \"\(source)\", expected local, mongo or mongo:NAME (a mongo notifier's name)")
        }
        let now = Int64(WallClock.nowMillis())
        let sinceMillis = try Self.time(since, option: "--since", now: now)
        let untilMillis = try until.map { try Self.time($0, option: "--until", now: now) } ?? now
        guard sinceMillis < untilMillis else { throw Failure(description: "--since must be before --until") }
        let config = try common.loadConfig(logger: logger)
        let store = try openStore(config)
        let reports = try HistoryReport.build(
            store: store, keys: checks, since: sinceMillis, until: untilMillis, now: now,
            rawSince: now - Int64(config.settings.history.keepResults * 1000))
        switch format {
        case "json": FileOutput.standardOutput.write(HistoryReport.json(reports, since: sinceMillis, until: untilMillis, now: now) + "\n")
        case "csv": FileOutput.standardOutput.write(HistoryReport.csv(reports, now: now))
        case "html":
            let series = try reports.map { try DaySeries.load(store: store, key: $0.key, until: min(untilMillis, now)) }
            FileOutput.standardOutput.write(HistoryReport.html(reports, series: series, since: sinceMillis, until: untilMillis, now: now))
        default: FileOutput.standardOutput.write(HistoryReport.table(reports, since: sinceMillis, until: untilMillis, now: now))
        }
    }

    /// The store `--source` names, opened for reading.
    private func openStore(_ config: MonitorConfig) throws -> any HistoryStore {
        if source == "local" {
            let path = config.settings.stateDirectory + "/history.sqlite"
            guard FileSystem.exists(path) else {
                throw Failure(description: "no history at \(path): the monitor records it while it runs (settings.history.enabled)")
            }
            return try SQLiteHistoryStore(path: path, readOnly: true)
        }
        let mongos = config.notifiers.filter { $0.type == MongoNotifier.kind.name }
        let name = source.hasPrefix("mongo:") ? String(source.dropFirst("mongo:".count)) : nil
        guard let notifier = name.map({ name in mongos.first { $0.name == name } }) ?? mongos.first else {
            let known = mongos.isEmpty ? "the config has no mongo notifier" : "mongo notifiers: " + mongos.map(\.name).joined(separator: ", ")
            throw Failure(description: "--source \(source): " + (name.map { "no mongo notifier named \($0); " } ?? "") + known)
        }
        let store = try MongoHistoryStore(settings: .init(options: notifier.options))
        if let problem = store.ping() { throw Failure(description: "--source \(source): cannot reach \(store.endpoint): \(problem)") }
        return store
    }

    /// Unix milliseconds of `text` (see `HistoryReport.time`).
    static func time(_ text: String, option: String, now: Int64) throws -> Int64 {
        do {
            return try HistoryReport.time(text, now: now)
        } catch {
            throw Failure(description: "\(option): \(error)")
        }
    }
}
