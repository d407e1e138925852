import Logging

/// What one run of a check found; the scheduler adds id, times, config and host.
public struct CheckOutcome: Sendable, Hashable {
    public var status: Status
    public var message: String
    public var measurement: [String: JSONValue]

    public init(status: Status, message: String, measurement: [String: JSONValue] = [:]) {
        self.status = status
        self.message = message
        self.measurement = measurement
    }

    /// A successful outcome.
    public static func success(_ message: String, _ measurement: [String: JSONValue] = [:]) -> CheckOutcome {
        CheckOutcome(status: .success, message: message, measurement: measurement)
    }

    /// A failed outcome.
    public static func failure(_ message: String, _ measurement: [String: JSONValue] = [:]) -> CheckOutcome {
        CheckOutcome(status: .failure, message: message, measurement: measurement)
    }
}

/// One configured check (a type and a label with its options), ready to run repeatedly.
///
/// `run()` must not block a thread: await I/O instead, so thousands of checks share the few
/// cooperative threads. It should finish within its own `timeout`; the scheduler also cancels a
/// run that outlives `timeout` plus a grace period and reports it as a failure.
public protocol Check: Sendable {
    /// Runs the check once.
    func run() async -> CheckOutcome

    /// Begins a run on the calling thread without waiting for anything, and finishes it there
    /// when nothing needs waiting for (a `hostport` connect the kernel completed inside the
    /// call). The scheduler calls it on its timer thread, so it must never block: anything that
    /// waits goes in `.pending`, which the scheduler awaits in a task of the run's own. The
    /// default is `.pending(run)`.
    func start() -> CheckStart
}

extension Check {
    public func start() -> CheckStart { .pending(run) }
}

/// How a run began (`Check.start()`).
public enum CheckStart: Sendable {
    /// The run ended without waiting.
    case finished(CheckOutcome)
    /// The rest of the run, to be awaited.
    case pending(@Sendable () async -> CheckOutcome)
    /// The run goes on elsewhere without a task (a ping awaiting its reply on the ICMP reader
    /// thread): the scheduler passes `finish`, which the check calls exactly once, with the
    /// outcome, by its own `timeout`. `begin` must not block.
    case later(@Sendable (_ finish: @escaping @Sendable (CheckOutcome) -> Void) -> Void)

    /// The run's outcome, awaiting the rest when there is one.
    public func outcome() async -> CheckOutcome {
        switch self {
        case .finished(let outcome): outcome
        case .pending(let rest): await rest()
        case .later(let begin): await withUnsafeContinuation { continuation in begin { continuation.resume(returning: $0) } }
        }
    }
}

/// What a check type needs to build one check from its validated options.
public struct CheckContext: Sendable {
    /// The check's label, e.g. `clowder`.
    public var label: String
    /// The validated options, defaults filled in.
    public var options: Options
    /// The monitor's logger; `logger` labels it for this check.
    public var baseLogger: Logger
    /// `type/label`, the `check` metadata of `logger`.
    public var key: String?

    /// A logger labelled for this check, made when asked for: most checks never log, and a
    /// logger with metadata of its own is a dictionary per check.
    public var logger: Logger {
        var logger = baseLogger
        if let key { logger[metadataKey: "check"] = "\(key)" }
        return logger
    }

    public init(label: String, options: Options, logger: Logger, key: String? = nil) {
        self.label = label
        self.options = options
        self.baseLogger = logger
        self.key = key
    }
}

/// A check type as the config names it (`ping`, `hostport`, …): its options and a factory.
public struct CheckKind: Sendable {
    /// The name under `checks:` in the config.
    public var name: String
    /// The options this type accepts besides the common `sleep` and `threshold`.
    public var options: [OptionSpec]
    /// Builds a check; throw `ConfigDiagnostic`s for problems only visible at build time.
    public var make: @Sendable (CheckContext) throws -> any Check

    public init(name: String, options: [OptionSpec], make: @escaping @Sendable (CheckContext) throws -> any Check) {
        self.name = name
        self.options = options
        self.make = make
    }
}
