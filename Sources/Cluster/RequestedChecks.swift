import Logging
import Monitor

/// Turns run requests into checks and runs them, as `healthmonitor run` would run the same check
/// from its config: validated by the same loader, the same hard deadline, the same result.
///
/// Built checks are kept by `check/label` with their options (a check is asked for every
/// period, with the same options), at most `capacity` of them.
public final class RequestedChecks: Sendable {
    private let scheduler: Scheduler<ContinuousClock>
    private let loader: ConfigLoader
    /// Built checks by `check/label`, with the options (their JSON text) they were built from.
    private let built = Locked<[String: Built]>([:])
    private let capacity: Int
    private let logger: Logger

    public init(checkKinds: [CheckKind] = CheckKinds.all, logger: Logger, capacity: Int = 100_000) {
        // No `${VAR}` substitution on the agent: the controller substituted before sending.
        loader = ConfigLoader(checkKinds: checkKinds, notifierKinds: [], environment: [:])
        scheduler = Scheduler(checks: [], router: ResultRouter(channels: [], logger: logger), host: HostName.current, clock: ContinuousClock(), logger: logger)
        self.capacity = capacity
        self.logger = logger
    }

    /// A check built for requests. A class: a request takes it from the cache with one retain,
    /// not one per field of its config.
    final class Built: Sendable {
        /// The request's options it was built from, as their JSON text.
        let optionsJSON: String
        let check: ScheduledCheck
        /// Its masked config, written once: `check.config.maskedConfig` as JSON.
        let configJSON: String

        init(optionsJSON: String, check: ScheduledCheck) {
            self.optionsJSON = optionsJSON
            self.check = check
            var out: [UInt8] = []
            check.config.maskedConfig.write(into: &out)
            configJSON = String(decoding: out, as: UTF8.self)
        }
    }

    /// A run begun by `begin(_:)`.
    public struct Started: Sendable {
        public var run: Scheduler<ContinuousClock>.Begun
        /// The `config` of the run's result, as JSON (`JSONValue.object(config).json()`), written
        /// once per check: `CheckResult.json(configJSON:)` takes it. `nil` for a refused request.
        public var configJSON: String?
    }

    /// Runs the check `request` asks for; a request that names an unknown check type or
    /// invalid options ends as a failure result that says why. `nil` only when the task was
    /// cancelled (shutdown).
    public func run(_ request: RunRequest) async -> CheckResult? {
        switch begin(request).run {
        case .finished(let result): result
        case .running(let rest): await rest()
        }
    }

    /// Begins the run `request` asks for on the calling thread: a check that needs no waiting
    /// (a loopback `hostport`), or a refused request, ends here without a task.
    public func begin(_ request: RunRequest) -> Started {
        switch check(for: request) {
        case .success(let built): Started(run: scheduler.begin(built.check), configJSON: built.configJSON)
        case .failure(let refusal):
            Started(run: .finished(CheckResult(status: .failure, check: request.check, label: request.label, message: refusal.description)), configJSON: nil)
        }
    }

    /// Why a request cannot be run.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The check a request asks for, built once per distinct request content.
    func check(for request: RunRequest) -> Result<Built, Refusal> {
        let key = request.key
        if let known = built.withLock({ $0[key] }), known.optionsJSON == request.optionsJSON { return .success(known) }
        guard loader.checkKinds[request.check] != nil else {
            let known = loader.checkKinds.keys.sorted().joined(separator: ", ")
            return .failure(Refusal(description: "this agent does not know the check type \"\(request.check)\" (it knows \(known))"))
        }
        // The options read back and written again by `JSONValue`: the loader sees them as it
        // always has, whatever spacing or escapes the request's text has.
        let document: JSONValue = ["checks": .object([request.check: .object([request.label: .object(request.options)])])]
        let config: MonitorConfig
        do {
            config = try loader.load([ConfigSource(section: .whole, name: "request \(request.id)", text: document.json())])
        } catch {
            return .failure(Refusal(description: "invalid run request: " + error.errors.map(\.message).joined(separator: "; ")))
        }
        guard let checkConfig = config.checks.first, let kind = loader.checkKinds[checkConfig.type] else {
            return .failure(Refusal(description: "invalid run request: no check in it"))
        }
        do {
            let check = try kind.make(CheckContext(label: checkConfig.label, options: checkConfig.options, logger: logger, key: checkConfig.key))
            let scheduled = ScheduledCheck(config: checkConfig, check: check)
            let new = Built(optionsJSON: request.optionsJSON, check: scheduled)
            built.withLock { cache in
                if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
                cache[key] = new
            }
            return .success(new)
        } catch {
            return .failure(Refusal(description: "cannot set up check: \(error)"))
        }
    }
}
