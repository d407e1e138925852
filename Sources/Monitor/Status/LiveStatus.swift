/// The current state of every check, kept up to date as results are routed: what the status
/// page, the API and `/metrics` show first. One lock, one dictionary write per result.
public final class LiveStatus: Sendable {
    /// One check now.
    public struct State: Sendable, Hashable {
        /// `check/label`.
        public var key: String
        public var check: String
        public var label: String
        /// Seconds between runs.
        public var sleep: Double
        /// The newest result's status; `nil` before the first result.
        public var status: Status?
        /// Since when (Unix ms) the status has been what it is: the first result of the current
        /// run of equal statuses (seeded from the history at start).
        public var sinceMillis: Int64?
        /// Start of the newest result (Unix ms).
        public var lastMillis: Int64?
        public var message: String = ""
        /// The check's main time of the newest result in ms (`ResponseTime`).
        public var responseTimeMs: Double?
        /// Seconds the newest run took.
        public var elapsed: Double = 0
        /// When the earliest certificate of the check's TLS chain expires (Unix ms), from the
        /// newest result that read one (`cert_expires_at`); `nil` for checks without TLS.
        public var certExpiresMillis: Int64?
        /// Results and failures since the monitor started.
        public var results = 0
        public var failures = 0

        public init(key: String, check: String, label: String, sleep: Double) {
            self.key = key
            self.check = check
            self.label = label
            self.sleep = sleep
        }
    }

    private let table: Locked<KeyedArray<String, State>>

    /// Every configured check, without results yet.
    public init(checks: [CheckConfig]) {
        var table = KeyedArray<String, State>(capacity: checks.count)
        for check in checks {
            _ = table.position(of: check.key) { State(key: check.key, check: check.type, label: check.label, sleep: check.sleep) }
        }
        self.table = Locked(table)
    }

    /// Takes a routed result.
    public func observe(_ result: CheckResult) {
        observe(result, key: result.key, readings: ResultReadings(result))
    }

    /// Takes a routed result whose `key` and readings the caller has;
    /// `position`: where the check is in the configured checks, if the caller knows (a hint,
    /// confirmed by the key).
    public func observe(_ result: CheckResult, key: String, position: Int = -1, readings: ResultReadings) {
        table.withLock { table in
            // In place: one lookup (a comparison, with the position), no copy of the state out and back.
            let i = table.position(of: key, hint: position) { State(key: key, check: result.check, label: result.label, sleep: 60) }
            Self.update(&table.values[i], result, readings)
        }
    }

    private static func update(_ state: inout State, _ result: CheckResult, _ readings: ResultReadings) {
        if state.status != result.status || state.sinceMillis == nil { state.sinceMillis = result.createdMillis }
        state.status = result.status
        state.lastMillis = result.createdMillis
        state.message = result.message
        state.responseTimeMs = readings.responseTimeMs
        state.elapsed = result.elapsed
        if let expiry = readings.certExpiresAt?.intValue { state.certExpiresMillis = Int64(expiry) * 1000 }
        state.results += 1
        if result.status != .success { state.failures += 1 }
    }

    /// Seeds a check's status and since-when from the history (before any result of this run).
    public func seed(key: String, status: Status, sinceMillis: Int64, lastMillis: Int64, message: String) {
        table.withLock { table in
            guard let i = table.position(of: key), table.values[i].status == nil else { return }
            table.values[i].status = status
            table.values[i].sinceMillis = sinceMillis
            table.values[i].lastMillis = lastMillis
            table.values[i].message = message
        }
    }

    /// Every check, by key.
    public func snapshot() -> [State] {
        // Copied under the lock (the next result then writes to the table's own storage, not
        // to a copy of all of it), sorted outside it.
        table.withLock { $0.values.map { $0 } }.sorted { $0.key < $1.key }
    }

    /// One check, or `nil` when not configured and never seen.
    public func state(_ key: String) -> State? {
        table.withLock { table in table.position(of: key).map { table.values[$0] } }
    }
}
