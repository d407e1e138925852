/// How a notifier decides which results to send.
public enum ReportMode: String, Sendable, Hashable, Codable, CaseIterable {
    case always
    case change
    case failure
}

/// What a queue does with a new result when it is full.
public enum OverflowPolicy: String, Sendable, Hashable, CaseIterable {
    /// Drop the oldest queued result to make room (the newest status matters most).
    case dropOldest = "drop_oldest"
    /// Drop the new result.
    case dropNewest = "drop_newest"
}

/// One configured check: a type, a label and its options.
public struct CheckConfig: Sendable, Hashable {
    /// The check type, e.g. `ping`.
    public var type: String { didSet { key = Self.key(type: type, label: label, location: location) } }
    /// The label under the type, e.g. `clowder`.
    public var label: String { didSet { key = Self.key(type: type, label: label, location: location) } }
    /// Seconds between the starts of two runs.
    public var sleep: Double
    /// Overrides the notifiers' `threshold` for this check when set.
    public var threshold: Int?
    /// Validated type-specific options (and the common ones).
    public var options: Options
    /// The options with their defaults (after substitution), secrets masked: what results carry
    /// as `config`. In two layers: this check's over the defaults every check of its type shares.
    public var maskedConfig: LayeredValues

    /// Where it runs, as its key and results name it: `nil` in this process (the `local`
    /// location) without a quorum, `local` in this process with one, else the location whose
    /// agents run it (`locations:`; a check in several locations is one `CheckConfig` each).
    public var location: String? { didSet { key = Self.key(type: type, label: label, location: location) } }
    /// `quorum:` (with two locations or more): the check as a whole (key `type/label`) is down
    /// only while at least this many of its locations fail; each location's result is then
    /// recorded under its own key (`type/label@local` too) but not sent to the notifiers.
    public var quorum: Int?

    /// Whether agents of another location run it.
    public var isRemote: Bool { location != nil && location != Self.localLocation }

    /// The name of this process's own location.
    public static let localLocation = "local"

    /// `type/label`, or `type/label@location` for a location's agents. Made once, not on every
    /// read: each table keyed by check (status, metrics, history, policies) then shares the
    /// one string (10,000 checks' keys are half a megabyte a copy).
    public private(set) var key: String

    /// The key of a check of `type` and `label` run at `location` (`nil`: local).
    public static func key(type: String, label: String, location: String?) -> String {
        guard let location else { return "\(type)/\(label)" }
        return "\(type)/\(label)@\(location)"
    }

    /// Whether `name` can name a location: 1 to 64 of `a-z A-Z 0-9 - _`, so it is a routing key
    /// and part of a queue name as it stands.
    public static func isValidLocation(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { b in
                (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                    || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
            }
    }

    public init(
        type: String, label: String, sleep: Double, threshold: Int? = nil, options: Options,
        maskedConfig: LayeredValues = [:], location: String? = nil,
        quorum: Int? = nil
    ) {
        self.quorum = quorum
        self.type = type
        self.label = label
        self.sleep = sleep
        self.threshold = threshold
        self.options = options
        self.maskedConfig = maskedConfig
        self.location = location
        key = Self.key(type: type, label: label, location: location)
    }
}

/// One configured notifier.
public struct NotifierConfig: Sendable, Hashable {
    /// The key under `notifiers:`.
    public var name: String
    /// The notifier type (the `type` option, else the name).
    public var type: String
    public var report: ReportMode
    /// Consecutive results needed before `change`/`failure` report (0 behaves as 1).
    public var threshold: Int
    /// With `report: failure`, also send the recovery.
    public var resolved: Bool
    /// With `report: failure`, re-send while the failure lasts, every this many seconds.
    public var repeatInterval: Double?
    /// Results the notifier's queue holds before overflow.
    public var queueSize: Int
    public var overflow: OverflowPolicy
    /// Times a failed batch is retried (with backoff) before it is counted as lost.
    public var retries: Int
    /// Results handed to the notifier in one `send`.
    public var batchSize: Int
    /// Validated type-specific options.
    public var options: Options

    public init(
        name: String, type: String, report: ReportMode = .failure, threshold: Int = 1, resolved: Bool = false,
        repeatInterval: Double? = nil, queueSize: Int = 10000, overflow: OverflowPolicy = .dropOldest,
        retries: Int = 3, batchSize: Int = 100, options: Options = Options([:])
    ) {
        self.name = name
        self.type = type
        self.report = report
        self.threshold = threshold
        self.resolved = resolved
        self.repeatInterval = repeatInterval
        self.queueSize = queueSize
        self.overflow = overflow
        self.retries = retries
        self.batchSize = batchSize
        self.options = options
    }
}

/// Monitor-wide settings (the optional `settings:` section).
public struct MonitorSettings: Sendable, Hashable {
    /// Where policy state and spools are kept.
    public var stateDirectory: String
    /// Seconds to flush notifier queues at shutdown.
    public var shutdownTimeout: Double
    /// Host name put in every result.
    public var host: String
    /// `settings.timer_slack`: the part of a check's period (at most 1 s) by which a run may start
    /// early, so that runs planned close together share one wake-up of the timers.
    public var timerSlack = MonitorSettings.defaultTimerSlack
    /// The history recorder.
    public var history = HistorySettings()
    /// The HTTP face (status page, API, badges, `/metrics`).
    public var http = HTTPSettings()
    /// `settings.cluster`: this monitor is the controller of a distributed monitor.
    public var cluster: ClusterSettings?

    /// `timer_slack` when not set, and the largest it may be (fractions of a check's sleep).
    public static let defaultTimerSlack = 0.02
    public static let maximumTimerSlack = 0.10
    /// `defaultTimerSlack` as written in a config (`2%`).
    public static var defaultTimerSlackText: String { percent(defaultTimerSlack) }

    /// Reads `timer_slack`: `N%` (up to `maximumTimerSlack`) or `off`, as a fraction; `nil` otherwise.
    public static func parseTimerSlack(_ text: String) -> Double? {
        let trimmed = text.trimmingSpaces
        if trimmed.lowercased() == "off" { return 0 }
        guard trimmed.hasSuffix("%"), let percent = Double(trimmed.dropLast().trimmingSpaces),
            (0...maximumTimerSlack * 100).contains(percent)
        else { return nil }
        return percent / 100
    }

    /// What a `timer_slack` error expects.
    public static var timerSlackExpected: String {
        "a percentage of the check's sleep from 0% to \(percent(maximumTimerSlack)) (\(defaultTimerSlackText) is the default), or off"
    }

    private static func percent(_ fraction: Double) -> String { "\(Int((fraction * 100).rounded()))%" }
}

/// `settings.cluster`.
public struct ClusterSettings: Sendable, Hashable {
    /// The broker: `amqp://user:password@host:5672/vhost`.
    public var uri: String
    /// This controller's name in run requests.
    public var name: String
    /// Where `uri` was written, for an error found once it is used.
    public var location: SourceLocation?

    public init(uri: String, name: String, location: SourceLocation? = nil) {
        self.uri = uri
        self.name = name
        self.location = location
    }
}

/// `settings.http`.
public struct HTTPSettings: Sendable, Hashable {
    /// Address and port to listen on; `nil`: off.
    public var listen: (host: String, port: Int)? {
        get { host.map { ($0, port) } }
        set {
            host = newValue?.host
            port = newValue?.port ?? 0
        }
    }
    private var host: String? = "127.0.0.1"
    private var port = 9464
    /// The bearer token every route but `/healthz` requires (`token`, or `token_file`).
    public var token: String?
    /// PEM certificate chain and private key: serve HTTPS.
    public var certFile: String?
    public var keyFile: String?

    public init(listen: (host: String, port: Int)? = ("127.0.0.1", 9464), token: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
        self.listen = listen
        self.token = token
        self.certFile = certFile
        self.keyFile = keyFile
    }

    /// Reads `listen`: `off`, `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all interfaces); `nil` with
    /// the problem otherwise.
    public static func parseListen(_ text: String) -> Result<(host: String, port: Int)?, ListenError> {
        if text == "off" { return .success(nil) }
        guard let colon = text.lastIndex(of: ":") else { return .failure(ListenError()) }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return .failure(ListenError()) }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        guard !host.contains(where: { $0 == " " || $0 == "/" }) else { return .failure(ListenError()) }
        return .success((host, port))
    }

    public struct ListenError: Error {}
}

/// `settings.history`.
public struct HistorySettings: Sendable, Hashable {
    public var enabled = true
    /// Seconds raw results are kept.
    public var keepResults: Double = 7 * 86400
    /// Seconds hourly rollups are kept.
    public var keepRollups: Double = 400 * 86400

    public init(enabled: Bool = true, keepResults: Double = 7 * 86400, keepRollups: Double = 400 * 86400) {
        self.enabled = enabled
        self.keepResults = keepResults
        self.keepRollups = keepRollups
    }
}

/// A validated configuration.
public struct MonitorConfig: Sendable {
    public var checks: [CheckConfig]
    public var notifiers: [NotifierConfig]
    public var settings: MonitorSettings
    /// Warnings found while loading (unknown keys, defaults applied).
    public var warnings: [ConfigDiagnostic]
    /// The sources read, in merge order (file paths or `$CONFIG`).
    public var sources: [String]
}
