import Logging

/// Why a result is being delivered to a notifier, from its report policy.
public enum ReportReason: String, Sendable, Hashable, Codable {
    /// `report: always`.
    case always
    /// `report: change`: the status changed and held for `threshold` results.
    case change
    /// `report: failure`: a failure streak reached `threshold`.
    case failure
    /// `report: failure` with `repeat`: the failure still lasts.
    case reminder
    /// `report: failure` with `resolved: true`: the check recovered after an alert.
    case recovery
    /// `healthmonitor once` and other explicit deliveries.
    case manual
}

/// One result on its way to one notifier.
public struct Delivery: Sendable, Hashable {
    public var result: CheckResult
    public var reason: ReportReason
    /// The result's sequence number in the intake log (`IntakeLog`); 0 when it was not logged.
    public var intake: UInt64

    public init(result: CheckResult, reason: ReportReason, intake: UInt64 = 0) {
        self.result = result
        self.reason = reason
        self.intake = intake
    }
}

/// A destination for results (console, e-mail, a message broker, …).
///
/// Each notifier is driven by its own delivery loop, fed by its own bounded queue, so a slow or
/// failing notifier never holds up checks or other notifiers.
public protocol Notifier: Sendable {
    /// Delivers a batch of results, oldest first. Throwing makes the delivery loop retry the
    /// whole batch with backoff (`retries` times); notifiers that keep their own spool simply
    /// accept the batch and never throw.
    func send(_ batch: [Delivery]) async throws

    /// Long-running background work (connections, heartbeats, periodic flushes). Runs for the
    /// life of the notifier and returns when `shutdown()` has been called or on cancellation.
    func run() async throws

    /// Flushes what the notifier holds and releases its resources; called once, after the
    /// queue has drained at shutdown (or after `healthmonitor once`).
    func shutdown() async
}

/// A notifier that keeps what it accepted on disk until its sink confirmed it (a spool), and
/// says so: the intake log keeps a result until every such notifier has it on disk or confirmed.
public protocol DurableNotifier: Notifier {
    /// Sets what to call with `n` once every delivery handed to `send` with an `intake` number
    /// up to `n` is on disk in the notifier's spool or confirmed by the sink.
    func onDurable(_ handler: @escaping @Sendable (UInt64) -> Void)
}

/// A notifier that wants to see every result of every check, also those its report policy does
/// not deliver (e.g. to count uptime). `observe` runs before the policy, for each result, and
/// must not wait.
public protocol ObservingNotifier: Notifier {
    func observe(_ result: CheckResult)
}

/// An error that knows whether trying the same thing again can succeed.
///
/// A notifier throws one with `isPermanent == true` when the receiver rejected the batch for
/// good (an HTTP 400 for a malformed payload, a 404 for a deleted webhook): the delivery loop
/// then counts the batch as failed at once instead of retrying it `retries` times.
public protocol PermanentError: Error {
    /// Whether retrying cannot help.
    var isPermanent: Bool { get }
}

extension Notifier {
    public func run() async throws {}
    public func shutdown() async {}
}

/// What a notifier type needs to build one notifier from its validated options.
public struct NotifierContext: Sendable {
    /// The notifier's name in the config (its key under `notifiers:`).
    public var name: String
    /// The validated options, defaults filled in.
    public var options: Options
    /// A logger labelled for this notifier.
    public var logger: Logger
    /// A directory this notifier may keep files in (spools); it exists.
    public var stateDirectory: String

    public init(name: String, options: Options, logger: Logger, stateDirectory: String) {
        self.name = name
        self.options = options
        self.logger = logger
        self.stateDirectory = stateDirectory
    }
}

/// A notifier type as the config names it (`console`, `slack`, …): its options and a factory.
public struct NotifierKind: Sendable {
    /// The type name: the key under `notifiers:`, or the value of its `type:` option.
    public var name: String
    /// The options this type accepts besides the common ones (`report`, `threshold`, …).
    public var options: [OptionSpec]
    /// The `report` mode when the config gives none: `failure` for alerting notifiers, `always`
    /// for sinks that record every result (RabbitMQ, MongoDB).
    public var defaultReport: ReportMode
    /// Builds a notifier.
    public var make: @Sendable (NotifierContext) throws -> any Notifier

    public init(
        name: String, options: [OptionSpec], defaultReport: ReportMode = .failure,
        make: @escaping @Sendable (NotifierContext) throws -> any Notifier
    ) {
        self.name = name
        self.options = options
        self.defaultReport = defaultReport
        self.make = make
    }
}
