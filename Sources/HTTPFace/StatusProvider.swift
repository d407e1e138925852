import Monitor
import Report

/// What the status page, the API and the badges read: every check's current state (live, from
/// the router) and its history (the local store, read on a thread of its own: SQLite calls
/// block). The same numbers as `healthmonitor report`, computed by the same code.
public final class StatusProvider: Sendable {
    public let live: LiveStatus
    /// The history, opened for reading; `nil` when `settings.history` is off.
    public let store: (any HistoryStore)?
    /// Seconds raw results are kept (`settings.history.keep_results`).
    public let keepResults: Double
    private let reader = DedicatedThread(name: "http-history")

    public init(live: LiveStatus, store: (any HistoryStore)?, keepResults: Double) {
        self.live = live
        self.store = store
        self.keepResults = keepResults
    }

    /// Runs `body` with the store on the reader thread; `nil` without a history.
    public func read<T: Sendable>(_ body: @escaping @Sendable (any HistoryStore) throws -> T) async throws -> T? {
        guard let store else { return nil }
        return try await reader.run { try body(store) }
    }

    /// The report of `keys` (all when empty) for `since..<until`, as `healthmonitor report` makes it.
    public func report(keys: [String], since: Int64, until: Int64) async throws -> [CheckReport]? {
        let now = Int64(WallClock.nowMillis())
        let rawSince = now - Int64(keepResults * 1000)
        return try await read { store in
            try HistoryReport.build(store: store, keys: keys, since: since, until: until, now: now, rawSince: rawSince)
        }
    }

    /// Time-weighted uptime (`uptime_time`) of every check over each `UptimeWindow`, by key then
    /// window name (`24h`, `7d`, …); `nil` inside: no data. Computed at most every 15 s (four reports over every
    /// check), shared by all requests in between.
    public func uptimes() async throws -> [String: [String: Double?]] {
        let now = MonotonicClock().seconds()
        if let cached = uptimeCache.withLock({ $0 }), now - cached.at < 15 { return cached.value }
        let until = Int64(WallClock.nowMillis())
        var out: [String: [String: Double?]] = [:]
        for window in UptimeWindow.allCases {
            for report in try await report(keys: [], since: until - window.millis, until: until) ?? [] {
                out[report.key, default: [:]][window.rawValue] = report.summary.uptimeTime
            }
        }
        uptimeCache.withLock { $0 = (now, out) }
        return out
    }

    private let uptimeCache = Locked<(at: Double, value: [String: [String: Double?]])?>(nil)

    /// Seeds every check's current status and since-when from the history (the newest result
    /// and the newest status change), so the page says "down since 02:13" after a restart.
    public func seedFromHistory() async {
        let keys = live.snapshot().map(\.key)
        let seeds = try? await read { store in
            keys.compactMap { key -> (String, HistoryRecord, HistoryRecord)? in
                guard let last = try? store.last(key: key, before: .max),
                    let change = try? store.transitions(key: key, from: .max, to: .max).last
                else { return nil }
                return (key, last, change)
            }
        }
        for (key, last, change) in seeds ?? [] {
            live.seed(
                key: key, status: last.success ? .success : .failure, sinceMillis: change.createdMillis, lastMillis: last.createdMillis,
                message: last.message)
        }
    }
}
