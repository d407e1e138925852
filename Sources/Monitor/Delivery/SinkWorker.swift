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

    /// How many results one round takes from the handoff into the spool while connected;
    /// `nil` (the default): all that wait. A sink that keeps work at the server while the
    /// worker writes (a broker holding thousands of unconfirmed messages) sets it, so that a
    /// burst is written to the spool files in runs with sending in between instead of in one
    /// long stretch before the first is sent. A sink that waits for each request's answer gains
    /// nothing from it: the server idles during any write, and runs only add flushes.
    var intakeRun: Int? { get }

    /// Called once, before the worker's thread starts: what lets a sink that waits on its own
    /// connection in `exchange` (not by returning a sleep to the worker) be woken when results
    /// arrive or the worker is asked to stop. The default ignores it.
    func watch(_ arrivals: SinkArrivals)
}

extension Sink {
    public var intakeRun: Int? { nil }
    public func watch(_ arrivals: SinkArrivals) {}
}

/// The arrivals of a `SinkWorker`'s results, for its sink (see `Sink.watch`).
public struct SinkArrivals: Sendable {
    let inbox: Handoff<CheckResult>

    /// Before waiting on its connection: `action` runs once (on another thread) when results
    /// arrive or the worker is asked to stop. `false`, and nothing armed, when results are
    /// waiting already: do not wait then. `disarm()` after the wait.
    public func arm(_ action: @escaping @Sendable () -> Void) -> Bool {
        inbox.armWake(action)
    }

    public func disarm() {
        inbox.disarmWake()
    }
}

/// Counters of one spooling notifier, for logs, tests and benchmarks.
/// A notifier that spools through a `SinkWorker` and tells its counters (for `/metrics`).
public protocol SinkStatsReporting: Notifier {
    var stats: SinkStats { get }
}

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
    /// Bytes of the spool files now.
    public var spooledBytes = 0
    /// Results deleted from the spool files to keep them within `spool_max_bytes`.
    public var droppedForSpace = 0

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
        /// Bytes the spool files may take; beyond it the oldest results are dropped.
        public var maxBytes: Int

        public init(
            spoolDirectory: String?, memoryLimit: Int = 10_000, backoff: Backoff = Backoff(initial: 0.5, maximum: 30),
            maxBytes: Int = 1 << 30
        ) {
            self.spoolDirectory = spoolDirectory
            self.memoryLimit = memoryLimit
            self.backoff = backoff
            self.maxBytes = maxBytes
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
    /// Flushes the spool files the loop wrote, while the loop sends (set once, in `init`).
    private var flusher: SpoolFlusher?
    private let control = Locked(Control())
    private let published = Locked(SinkStats())
    /// Intake numbers of accepted batches by the handoff position after their last result, in
    /// order, and who to tell once they are on disk (see `DurableNotifier`).
    private let intakeMarks = Locked<(marks: [(end: Int, intake: UInt64)], handler: (@Sendable (UInt64) -> Void)?)>(([], nil))

    /// A worker for `sink`; `clock` is the real monotonic clock except in tests.
    public init(sink: S, settings: Settings, logger: Logger, threadName: String, clock: any ThreadClock = MonotonicClock()) {
        self.sink = sink
        self.settings = settings
        self.logger = logger
        self.thread = DedicatedThread(name: threadName)
        self.clock = clock
        let inbox = Handoff<CheckResult>(clock: clock)
        self.inbox = inbox
        sink.watch(SinkArrivals(inbox: inbox))
        self.journal = settings.spoolDirectory.map {
            IntakeJournal(path: $0 + "/intake.journal", threadName: threadName + "-journal", clock: clock)
        }
        if settings.spoolDirectory != nil {
            flusher = SpoolFlusher(threadName: threadName + "-flush") { [weak self] position in
                self?.markPersisted(upTo: position)
            }
        }
    }

    /// Takes results for delivery. Never waits for the sink, never fails. `intake`: the
    /// highest intake-log number among them (0: not logged), reported to the `onDurable`
    /// handler once they are on disk.
    public func accept(_ results: [CheckResult], intake: UInt64 = 0) {
        intakeMarks.withLock { m in
            let end = inbox.push(results)
            if intake > 0 { m.marks.append((end, intake)) }
        }
    }

    /// Sets what to call with an intake number once every result accepted with a number up to
    /// it is in the spool files.
    public func onDurable(_ handler: @escaping @Sendable (UInt64) -> Void) {
        intakeMarks.withLock { $0.handler = handler }
    }

    /// Results below handoff position `position` are in the spool files: reports their intake
    /// numbers.
    private func settle(upTo position: Int) {
        let (number, handler) = intakeMarks.withLock { m -> (UInt64?, (@Sendable (UInt64) -> Void)?) in
            var number: UInt64?
            while let first = m.marks.first, first.end <= position {
                number = first.intake
                m.marks.removeFirst()
            }
            return (number, m.handler)
        }
        if let number, let handler { handler(number) }
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
        snapshot.droppedForSpace = spool.droppedForSpace
        snapshot.spooled = spool.count + inbox.count
        snapshot.spooledOnDisk = spool.diskOnlyCount
        snapshot.spooledBytes = spool.fileBytes
        published.withLock { $0 = snapshot }
    }

    private func logProblems(_ spool: inout Spool<CheckResult>) {
        for problem in spool.takeProblems() + (flusher?.takeProblems() ?? []) {
            logger.error("spool: \(problem)", metadata: ["endpoint": "\(sink.endpoint)"])
        }
        // Results dropped for space: counted at once, logged at most once a minute.
        let dropped = spool.droppedForSpace
        guard dropped > loggedDrops, clock.seconds() - lastDropLog >= 60 || loggedDrops == 0 else { return }
        logger.error(
            "spool full: oldest results dropped",
            metadata: [
                "endpoint": "\(sink.endpoint)", "dropped": "\(dropped - loggedDrops)", "dropped_total": "\(dropped)",
                "spool_max_bytes": "\(settings.maxBytes)",
            ])
        loggedDrops = dropped
        lastDropLog = clock.seconds()
    }

    /// Drops already logged, and when (touched by the loop only).
    private var loggedDrops = 0
    private var lastDropLog = -Double.infinity

    /// How long results may keep waiting in the handoff behind runs (`Sink.intakeRun`) before a round takes them
    /// all: a sink that falls behind gets everything in the spool (memory, then disk) soon, as
    /// before; the handoff never holds more than this long's arrivals. Meanwhile the intake
    /// journal keeps them if the loop is stuck.
    public static var intakeBacklogAge: Double { 0.5 }

    /// Since when the handoff has kept a backlog behind runs (touched by the loop only).
    private var backlogSince: Double?

    /// Moves what `accept` handed in into the spool, written through to the spool files: up to
    /// the sink's `intakeRun` results per round while `inRuns` and the backlog is younger than
    /// `intakeBacklogAge`, else all. Once they are on disk (and only then), the intake journal
    /// forgets them and their intake numbers are reported; when the write failed, both keep them.
    /// Returns the handoff position after the last result taken.
    @discardableResult
    private func takeIncoming(_ spool: inout Spool<CheckResult>, _ stats: inout SinkStats, inRuns: Bool = false) -> Int {
        let aged = backlogSince.map { clock.seconds() - $0 >= Self.intakeBacklogAge } ?? false
        let limit = inRuns && !aged ? sink.intakeRun ?? .max : .max
        let (first, incoming, left) = inbox.takeNumbered(max: limit)
        backlogSince = left == 0 ? nil : backlogSince ?? clock.seconds()
        guard !incoming.isEmpty else {
            // A batch's mark may come in just after its results were taken.
            if persistedUpTo.load(ordering: .acquiring) == first { settle(upTo: first) }
            return first
        }
        spool.append(incoming)
        stats.accepted += incoming.count
        let end = first + incoming.count
        let onDisk = spool.writeThrough ? spool.lastAppendPersisted : spool.persistAll(compact: false)
        guard onDisk else { return end }
        if let flusher, spool.deferFlush {
            // Written: the flusher reports them durable once the files are flushed.
            flusher.flush(spool.takeUnflushed(), upTo: end)
        } else {
            markPersisted(upTo: end)
        }
        return end
    }

    /// Every result below handoff position `position` is on the disk (called by the loop and
    /// by the flusher's thread).
    private func markPersisted(upTo position: Int) {
        persistedUpTo.max(position, ordering: .acquiringAndReleasing)
        journal?.release(upTo: position)
        settle(upTo: position)
    }

    /// The handoff position below which every result taken is in the spool files, flushed.
    private let persistedUpTo = Atomic<Int>(0)

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
        var spool = Spool<CheckResult>(
            directory: settings.spoolDirectory, memoryLimit: settings.memoryLimit, maxBytes: settings.maxBytes)
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
        // Accepted results go to disk before they are sent, so a crash loses none: neither those
        // waiting while the sink is away nor those sent and not yet confirmed.
        spool.writeThrough = settings.spoolDirectory != nil
        // The flush to the disk of each written batch runs on the flusher's thread, while this
        // one sends: waiting for it here cost a fifth of a broker's rate (see SpoolFlusher).
        spool.deferFlush = spool.writeThrough && flusher != nil

        while true {
            let (stop, deadline) = control.withLock { ($0.stop, $0.flushDeadline) }
            takeIncoming(&spool, &stats, inRuns: connected)
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
        // Everything taken is in the spool files now, flushed; what arrives later stays in the
        // journal (and the intake log) and is recovered at the next start.
        let flushed = flusher?.stop() ?? true
        if spool.persistAll(compact: true) && flushed { markPersisted(upTo: takenUpTo) }
        logProblems(&spool)
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
