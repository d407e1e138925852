import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The connection to one sink (a broker, a database), driven by a `SinkWorker` from its own
/// thread only: implementations may block (always with timeouts) and need not be thread-safe.
public protocol Sink: AnyObject, SendableMetatype {
    /// Where the sink is, for logs, secrets masked, e.g. `amqp://guest:********@127.0.0.1:5672/%2F`.
    var endpoint: String { get }

    /// Opens the connection and prepares it (declarations, indexes). Blocks for at most the
    /// sink's connect timeout; throws when the sink cannot be used now.
    func connect() throws

    /// Drops the connection. `graceful`: the link is believed healthy and a close handshake is
    /// worth a short try; otherwise the socket is just closed.
    func disconnect(graceful: Bool)

    /// One round of work on an open connection: sends records taken from `spool`, settles what
    /// the sink confirmed (`complete`) or refused for now (`retry`), counts into `stats`, and
    /// waits for news for a short while at most. Returns how many seconds the worker may sleep
    /// when no new records arrive (0: call again at once). Throws when the connection is lost or
    /// must be considered dead; the worker then reconnects with backoff and everything
    /// unconfirmed is sent again.
    func exchange(_ spool: inout Spool<CheckResult>, stats: inout SinkStats, flushing: Bool) throws -> Double
}

/// Counters of one spooling notifier, for logs, tests and benchmarks.
public struct SinkStats: Sendable, Hashable {
    /// Results handed to the notifier.
    public var accepted = 0
    /// Results the sink confirmed (broker confirm, acknowledged insert), duplicates included.
    public var delivered = 0
    /// Confirmed results the sink already had (a retried insert hitting its own `_id`).
    public var duplicates = 0
    /// Results the sink refused for good and that were dropped after being counted and logged
    /// (e.g. returned as unroutable with no queue configured, a document the server rejects).
    public var undeliverable = 0
    /// Results returned by the broker as unroutable (dropped or retried).
    public var returned = 0
    /// Results the broker negatively acknowledged (sent again).
    public var nacked = 0
    /// Successful connects.
    public var connects = 0
    /// Connections lost or declared dead.
    public var connectionLosses = 0
    /// Times the broker blocked publishing (resource alarm).
    public var blocks = 0
    /// Whether the broker blocks publishing now.
    public var blocked = false
    /// Results held in the spool now (memory and disk).
    public var spooled = 0
    /// Results of those only on disk now.
    public var spooledOnDisk = 0

    public init() {}
}

/// Runs a `Sink` on one dedicated thread with a "no result lost" `Spool`: results handed in by
/// `accept` (never waiting, never failing) are kept until the sink confirms them, spilled to
/// files under the spool directory when memory is full, while the sink is away and at
/// shutdown, and replayed in order after a reconnect or a restart of the monitor.
///
/// The worker reconnects with capped, jittered exponential backoff; `shutdown` flushes for at
/// most its timeout and spills what remains.
public final class SinkWorker<S: Sink>: @unchecked Sendable {
    // @unchecked: `sink` and the spool are touched only by the loop on `thread`; everything
    // shared with other threads is behind `control`, `published` or the handoff.

    /// Tuning of a worker; defaults suit the notifiers.
    public struct Settings: Sendable {
        /// Directory of the spool files (the notifier's state directory); `nil`: memory only.
        public var spoolDirectory: String?
        /// Results kept in memory before they spill to disk.
        public var memoryLimit: Int
        /// Reconnect delays.
        public var backoff: Backoff

        public init(spoolDirectory: String?, memoryLimit: Int = 10_000, backoff: Backoff = Backoff(initial: 0.5, maximum: 30)) {
            self.spoolDirectory = spoolDirectory
            self.memoryLimit = memoryLimit
            self.backoff = backoff
        }
    }

    private struct Control {
        var started = false
        var stop = false
        var flushDeadline: Double?
    }

    public let settings: Settings
    private let sink: S
    private let logger: Logger
    private let thread: DedicatedThread
    /// Backoff, flush deadlines and the journal's `stuckAfter` are measured on it.
    private let clock: any ThreadClock
    private let inbox: Handoff<CheckResult>
    /// Keeps results waiting in `inbox` durable while the sink is away or the loop is stuck.
    private let journal: IntakeJournal?
    private let control = Mutex(Control())
    private let published = Mutex(SinkStats())

    /// A worker for `sink`; `clock` is the real monotonic clock except in tests.
    public init(sink: S, settings: Settings, logger: Logger, threadName: String, clock: any ThreadClock = MonotonicClock()) {
        self.sink = sink
        self.settings = settings
        self.logger = logger
        self.thread = DedicatedThread(name: threadName)
        self.clock = clock
        self.inbox = Handoff(clock: clock)
        self.journal = settings.spoolDirectory.map {
            IntakeJournal(path: $0 + "/intake.journal", threadName: threadName + "-journal", clock: clock)
        }
    }

    /// Takes results for delivery. Never waits for the sink, never fails.
    public func accept(_ results: [CheckResult]) {
        inbox.push(results)
    }

    /// A snapshot of the counters.
    public var stats: SinkStats { published.withLock { $0 } }

    /// Runs the delivery loop until `shutdown()` or cancellation.
    public func run() async {
        let start = control.withLock { c -> Bool in
            guard !c.started else { return false }
            c.started = true
            return true
        }
        guard start else { return }
        await withTaskCancellationHandler {
            do {
                try await thread.run { [self] in loop() }
            } catch {
                logger.error("delivery loop not started", metadata: ["endpoint": "\(sink.endpoint)", "error": "\(error)"])
            }
        } onCancel: {
            control.withLock { $0.stop = true }
            inbox.wake()
        }
    }

    /// Delivers what is held for at most `timeout` seconds while the sink is reachable, spills
    /// the rest to the spool files, closes the connection and ends the loop.
    ///
    /// Cancellation (the shutdown deadline, a second signal) ends the flush at once: the loop
    /// spills what it holds and ends. If the loop is inside a blocking call that does not return
    /// within `abandonAfter` seconds, this returns without it; results waiting to be taken are
    /// in the intake journal by then.
    public func shutdown(timeout: Double, abandonAfter: Double = 1) async {
        let startHere = control.withLock { c -> Bool in
            c.flushDeadline = clock.seconds() + timeout
            defer { c.started = true }
            return !c.started
        }
        if startHere {
            do {
                try thread.submit { [self] in loop() }
            } catch {
                logger.error("results not flushed", metadata: ["endpoint": "\(sink.endpoint)", "error": "\(error)"])
            }
        }
        inbox.wake()
        // The loop's job runs first: `finish` returns once it has.
        let finished = await withTaskCancellationHandler {
            await thread.finish(abandonAfter: abandonAfter)
        } onCancel: {
            control.withLock { $0.stop = true }
            // Results still waiting to be taken go to the intake journal now, not only once the
            // loop has been stuck for `stuckAfter`: the wait may be given up.
            journal?.setDisconnected(true)
            inbox.wake()
        }
        if !finished {
            logger.warning(
                "sink worker still inside a blocking call at shutdown; not waiting for it",
                metadata: ["endpoint": "\(sink.endpoint)", "waited": "\(abandonAfter)s"])
        }
    }

    private func publish(_ stats: SinkStats, _ spool: Spool<CheckResult>) {
        var snapshot = stats
        snapshot.spooled = spool.count + inbox.count
        snapshot.spooledOnDisk = spool.diskOnlyCount
        published.withLock { $0 = snapshot }
    }

    private func logProblems(_ spool: inout Spool<CheckResult>) {
        for problem in spool.takeProblems() {
            logger.error("spool: \(problem)", metadata: ["endpoint": "\(sink.endpoint)"])
        }
    }

    /// Moves what `accept` handed in into the spool; results the journal holds are written to
    /// spool files first, then released from the journal.
    /// Returns the handoff position after the last result taken.
    @discardableResult
    private func takeIncoming(_ spool: inout Spool<CheckResult>, _ stats: inout SinkStats) -> Int {
        let (first, incoming) = inbox.takeNumbered()
        guard !incoming.isEmpty else { return first }
        spool.append(incoming)
        stats.accepted += incoming.count
        if let journal, journal.holds(below: first + incoming.count) {
            if !spool.writeThrough { spool.persistAll(compact: false) }
            journal.release(upTo: first + incoming.count)
        }
        return first + incoming.count
    }

    /// Results a crashed run left in the intake journal go to the spool (after what the
    /// spool files hold), then the journal is removed.
    private func recoverJournal(_ spool: inout Spool<CheckResult>) {
        guard let journal else { return }
        let (recovered, skipped) = IntakeJournal.recover(path: journal.path)
        if skipped > 0 { logger.error("intake journal: skipped \(skipped) unreadable line(s)", metadata: ["path": "\(journal.path)"]) }
        guard !recovered.isEmpty else {
            unlink(journal.path)
            return
        }
        spool.append(recovered)
        spool.persistAll(compact: false)
        let problems = spool.takeProblems()
        for problem in problems { logger.error("spool: \(problem)", metadata: ["endpoint": "\(sink.endpoint)"]) }
        if problems.isEmpty { unlink(journal.path) }
        logger.notice("recovered results from the intake journal of an earlier run", metadata: ["results": "\(recovered.count)"])
    }

    private func loop() {
        var spool = Spool<CheckResult>(directory: settings.spoolDirectory, memoryLimit: settings.memoryLimit)
        var stats = published.withLock { $0 }
        logProblems(&spool)
        recoverJournal(&spool)
        do {
            try journal?.start(watching: inbox)
        } catch {
            logger.error("intake journal not running; results waiting in memory are not journaled", metadata: ["error": "\(error)"])
        }
        if !spool.isEmpty {
            logger.notice(
                "replaying results spooled by an earlier run",
                metadata: ["results": "\(spool.count)", "directory": "\(settings.spoolDirectory ?? "-")"])
        }
        var backoff = settings.backoff
        var connected = false
        var nextAttempt = 0.0
        var outageStart: Double?
        var lastOutageLog = 0.0
        spool.writeThrough = true  // until the sink has been reached, accepted results go to disk

        while true {
            let (stop, deadline) = control.withLock { ($0.stop, $0.flushDeadline) }
            takeIncoming(&spool, &stats)
            for problem in journal?.takeProblems() ?? [] { logger.error("\(problem)") }
            let now = clock.seconds()
            if stop { break }
            if let deadline, (spool.isEmpty && inbox.count == 0) || !connected || now >= deadline { break }

            if !connected {
                if now < nextAttempt {
                    publish(stats, spool)
                    inbox.wait(seconds: min(nextAttempt - now, 0.25))
                    continue
                }
                do {
                    journal?.setBusy(since: now)
                    defer { journal?.setBusy(since: nil) }
                    try sink.connect()
                    connected = true
                    journal?.setDisconnected(false)
                    stats.connects += 1
                    spool.writeThrough = false
                    backoff.reset()
                    if let since = outageStart {
                        logger.notice(
                            "sink reachable again",
                            metadata: [
                                "endpoint": "\(sink.endpoint)", "after": "\(Int(now - since))s",
                                "spooled": "\(spool.count)",
                            ])
                        outageStart = nil
                    } else {
                        logger.debug("connected", metadata: ["endpoint": "\(sink.endpoint)"])
                    }
                } catch {
                    let delay = backoff.next()
                    nextAttempt = clock.seconds() + delay
                    // The first failure, then one line every 30 s: an outage must not flood the log.
                    if outageStart == nil || now - lastOutageLog >= 30 {
                        logger.warning(
                            outageStart == nil ? "cannot reach sink; results are spooled" : "sink still unreachable",
                            metadata: [
                                "endpoint": "\(sink.endpoint)", "error": "\(error)", "spooled": "\(spool.count)",
                                "retry_in": "\((delay * 10).rounded() / 10)s",
                            ])
                        lastOutageLog = now
                    }
                    if outageStart == nil { outageStart = now }
                    logProblems(&spool)
                    continue
                }
            }

            do {
                journal?.setBusy(since: now)
                defer { journal?.setBusy(since: nil) }
                let idle = try sink.exchange(&spool, stats: &stats, flushing: deadline != nil)
                publish(stats, spool)
                logProblems(&spool)
                if idle > 0 { inbox.wait(seconds: deadline == nil ? idle : min(idle, 0.05)) }
            } catch {
                sink.disconnect(graceful: false)
                connected = false
                journal?.setDisconnected(true)
                stats.connectionLosses += 1
                stats.blocked = false
                spool.retryAllInFlight()
                spool.writeThrough = true
                spool.persistAll()
                logProblems(&spool)
                let delay = backoff.next()
                nextAttempt = clock.seconds() + delay
                outageStart = now
                lastOutageLog = now
                logger.warning(
                    "connection to sink lost; results are spooled",
                    metadata: [
                        "endpoint": "\(sink.endpoint)", "error": "\(error)", "spooled": "\(spool.count)",
                        "retry_in": "\((delay * 10).rounded() / 10)s",
                    ])
                publish(stats, spool)
            }
        }

        if connected { sink.disconnect(graceful: true) }
        journal?.setDisconnected(true)
        let takenUpTo = takeIncoming(&spool, &stats)
        spool.retryAllInFlight()
        spool.persistAll(compact: true)
        logProblems(&spool)
        // Everything taken is in the spool files now; what arrives later stays in the journal
        // and is recovered at the next start.
        journal?.release(upTo: takenUpTo)
        journal?.stop()
        publish(stats, spool)
        if !spool.isEmpty {
            logger.notice(
                "results kept in the spool for the next start",
                metadata: [
                    "endpoint": "\(sink.endpoint)", "results": "\(spool.count)",
                    "directory": "\(settings.spoolDirectory ?? "- (memory only: lost)")",
                ])
        }
    }
}
