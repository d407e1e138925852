#if canImport(Glibc)
import Glibc
#endif
import Logging
import Monitor
import Synchronization
import Testing

/// A sink without a server that the test drives step by step: `connect` and `exchange` pass
/// through gates the test may hold closed, a connect fails while `reachable` is false, and
/// `exchange` confirms everything pending unless `confirming` is false (a server that stalls).
final class FakeSink: Sink, @unchecked Sendable {
    // @unchecked: called on the worker's thread; what the test sets and reads is in `state`.
    private struct State {
        var reachable = true
        var confirming = true
        var connectAttempts = 0
        var delivered: [String] = []
        /// The spool's size at each `exchange` (after its gate).
        var spoolSizes: [Int] = []
    }

    let connectGate = Gate()
    let exchangeGate = Gate()
    private let state = Locked(State())
    var endpoint: String { "fake" }
    /// Runs as the RabbitMQ sink takes them, unless the test says otherwise.
    let intakeRun: Int?

    init(intakeRun: Int? = 2_000) {
        self.intakeRun = intakeRun
    }

    struct Unreachable: Error {}

    var reachable: Bool {
        get { state.withLock { $0.reachable } }
        set { state.withLock { $0.reachable = newValue } }
    }

    var confirming: Bool {
        get { state.withLock { $0.confirming } }
        set { state.withLock { $0.confirming = newValue } }
    }

    var connectAttempts: Int { state.withLock { $0.connectAttempts } }
    var delivered: [String] { state.withLock { $0.delivered } }
    var spoolSizes: [Int] { state.withLock { $0.spoolSizes } }

    func connect() throws {
        connectGate.pass()
        let reachable = state.withLock { s in
            s.connectAttempts += 1
            return s.reachable
        }
        if !reachable { throw Unreachable() }
    }

    func disconnect(graceful: Bool) {}

    func exchange(_ spool: inout Spool<CheckResult>, stats: inout SinkStats, flushing: Bool) throws -> Double {
        exchangeGate.pass()
        state.withLock { [count = spool.count] in $0.spoolSizes.append(count) }
        let entries = spool.takeToSend(max: 1000)
        guard confirming else { return 0.05 }  // sent, never confirmed
        spool.complete(entries.map(\.seq))
        stats.delivered += entries.count
        state.withLock { $0.delivered += entries.map(\.record.id) }
        return entries.isEmpty ? 0.05 : 0
    }
}

/// The worker runs on a `ManualClock`: backoff, `stuckAfter` and flush deadlines pass only when
/// a test advances it, and every wait below is for an event (bounded by `eventually`).
@Suite struct SinkWorkerTests {
    func results(_ n: Int) -> [CheckResult] {
        (0..<n).map { CheckResult(status: .success, check: "random", label: "w", message: "\($0)") }
    }

    func makeWorker(
        _ sink: FakeSink, _ directory: String, clock: ManualClock, backoff: Backoff = Backoff(initial: 0.5, maximum: 30)
    ) -> SinkWorker<FakeSink> {
        SinkWorker(
            sink: sink, settings: .init(spoolDirectory: directory, backoff: backoff), logger: Logger(label: "test"),
            threadName: "fake", clock: clock)
    }

    func journal(_ directory: String) -> [String] {
        IntakeJournal.recover(path: directory + "/intake.journal").results.map(\.id)
    }

    func spooled(_ directory: String) -> [String] {
        var spool = Spool<CheckResult>(directory: directory, memoryLimit: 1000)
        return spool.takeToSend(max: 1000).map(\.record.id)
    }

    @Test func resultsWaitingWhileAConnectAttemptBlocksAreJournaledAtOnce() async throws {
        let directory = spoolTestDirectory("worker")
        let clock = ManualClock()
        let sink = FakeSink()
        sink.reachable = false
        sink.connectGate.close()
        let worker = makeWorker(sink, directory, clock: clock)
        let running = Task { await worker.run() }
        #expect(await eventually { sink.connectGate.waiting == 1 }, "the worker is inside its first connect")
        let sent = results(3)
        worker.accept(sent)
        // Never connected: the journal takes them without waiting for `stuckAfter` (the clock
        // stands still). A `kill -9` now would leave exactly this on disk.
        #expect(await eventually { journal(directory) == sent.map(\.id) })
        sink.connectGate.open()
        await worker.shutdown(timeout: 0.1)
        await running.value
        #expect(!FileSystem.exists(directory + "/intake.journal"), "after a clean stop the spool files hold everything")
        #expect(spooled(directory) == sent.map(\.id))
    }

    /// A worker on a manual clock, connected and idle, whose next `exchange` waits at its gate.
    func startWorkerWithItsSendingHeld() async -> (
        directory: String, clock: ManualClock, sink: FakeSink, worker: SinkWorker<FakeSink>, running: Task<Void, Never>
    ) {
        let directory = spoolTestDirectory("worker")
        let clock = ManualClock()
        let sink = FakeSink()
        let worker = makeWorker(sink, directory, clock: clock)
        let running = Task { await worker.run() }
        #expect(await eventually { worker.stats.connects == 1 && clock.blockedThreads == 1 }, "connected and idle")
        sink.exchangeGate.close()
        return (directory, clock, sink, worker, running)
    }

    @Test func resultsArrivingWhileTheSinkIsStuckAreJournaledOnceStuckAfterHasPassed() async throws {
        let (directory, clock, sink, worker, running) = await startWorkerWithItsSendingHeld()
        let held = results(2)
        worker.accept(held)
        #expect(await eventually { sink.exchangeGate.waiting == 1 }, "the worker took `held` and is stuck sending it")
        let waiting = results(3)
        worker.accept(waiting)
        // Connected and stuck for 0 s on the clock: nothing is journaled. (Real time only gives
        // the journal thread rounds to get this wrong; it cannot make the check fail wrongly.)
        try await Task.sleep(for: .milliseconds(100))
        #expect(journal(directory).isEmpty)
        clock.advance(seconds: 0.6)  // past `stuckAfter` (0.5 s)
        #expect(await eventually { journal(directory) == waiting.map(\.id) })
        sink.exchangeGate.open()
        #expect(await eventually { sink.delivered == (held + waiting).map(\.id) })
        #expect(await eventually { !FileSystem.exists(directory + "/intake.journal") }, "released once in spool files")
        await worker.shutdown(timeout: 1)
        await running.value
        #expect(spoolFiles(directory).isEmpty)
    }

    @Test func reconnectsOnlyOnceTheBackoffDelayHasPassedOnTheClock() async throws {
        let directory = spoolTestDirectory("worker")
        let clock = ManualClock()
        let sink = FakeSink()
        sink.reachable = false
        // Delays are drawn from [ceiling/2, ceiling]: the first from [0.5, 1] s.
        let worker = makeWorker(sink, directory, clock: clock, backoff: Backoff(initial: 1, maximum: 1))
        let running = Task { await worker.run() }
        #expect(await eventually { sink.connectAttempts == 1 && clock.blockedThreads == 1 })
        let waits = clock.threadWaits
        clock.advance(seconds: 0.4)
        #expect(await eventually { clock.threadWaits > waits }, "the worker looked at the clock and waits again")
        #expect(sink.connectAttempts == 1)
        clock.advance(seconds: 0.6)
        #expect(await eventually { sink.connectAttempts == 2 })
        sink.reachable = true
        #expect(await eventually { clock.blockedThreads == 1 })
        clock.advance(seconds: 1)
        #expect(await eventually { worker.stats.connects == 1 })
        #expect(sink.connectAttempts == 3)
        await worker.shutdown(timeout: 1)
        await running.value
    }

    @Test func shutdownFlushesUntilItsDeadlineOnTheClockThenSpillsTheRest() async throws {
        let directory = spoolTestDirectory("worker")
        let clock = ManualClock()
        let sink = FakeSink()
        sink.confirming = false
        let worker = makeWorker(sink, directory, clock: clock)
        let running = Task { await worker.run() }
        #expect(await eventually { worker.stats.connects == 1 && clock.blockedThreads == 1 })
        let sent = results(4)
        worker.accept(sent)
        #expect(await eventually { sink.exchangeGate.arrivals >= 2 && clock.blockedThreads == 1 }, "sent, unconfirmed")
        let waits = clock.threadWaits
        let finished = Atomic<Bool>(false)
        let stopping = Task {
            await worker.shutdown(timeout: 2)
            finished.store(true, ordering: .sequentiallyConsistent)
        }
        // The worker woke for the shutdown and waits again: it is flushing, and only the clock
        // reaching the deadline (or the sink confirming) lets it stop.
        #expect(await eventually { clock.threadWaits > waits })
        let returned = finished.load(ordering: .sequentiallyConsistent)
        #expect(!returned)
        clock.advance(seconds: 2.1)
        await stopping.value
        await running.value
        #expect(spooled(directory) == sent.map(\.id))
        #expect(sink.delivered.isEmpty)
    }

    @Test func aJournalLeftByACrashIsDeliveredAfterTheSpoolFiles() async throws {
        let directory = spoolTestDirectory("worker")
        let older = results(2)
        let newer = results(2)
        do {
            var spool = Spool<CheckResult>(directory: directory, memoryLimit: 100)
            spool.append(older)
            spool.persistAll()
        }
        try FileSystem.writeAtomically(newer.map(\.spoolLine).joined(separator: "\n") + "\n", to: directory + "/intake.journal")
        let sink = FakeSink()
        let worker = makeWorker(sink, directory, clock: ManualClock())
        let running = Task { await worker.run() }
        #expect(await eventually { sink.delivered.count == 4 })
        await worker.shutdown(timeout: 1)
        await running.value
        #expect(sink.delivered == (older + newer).map(\.id))
        #expect(!FileSystem.exists(directory + "/intake.journal"))
    }

    /// Connected, the sink holding confirms: what was sent and not confirmed is in the spool
    /// files, so a `kill -9` now loses nothing; the intake numbers are reported once it is.
    @Test func resultsSentAndNotYetConfirmedAreOnDiskAndReported() async throws {
        let directory = spoolTestDirectory("worker")
        let clock = ManualClock()
        let sink = FakeSink()
        sink.confirming = false
        let worker = makeWorker(sink, directory, clock: clock)
        let reported = Locked<[UInt64]>([])
        worker.onDurable { number in reported.withLock { $0.append(number) } }
        let running = Task { await worker.run() }
        #expect(await eventually { worker.stats.connects == 1 && clock.blockedThreads == 1 })
        let first = results(3)
        let second = results(2)
        worker.accept(first, intake: 7)
        worker.accept(second, intake: 9)
        #expect(await eventually { reported.withLock { $0.last } == 9 })
        // Read by a new spool, as the next start would: both batches, in order.
        #expect(spooled(directory) == (first + second).map(\.id))
        #expect(sink.delivered.isEmpty, "nothing confirmed")
        #expect(journal(directory).isEmpty, "the spool files hold them; the journal was not needed")
        await worker.shutdown(timeout: 0)
        await running.value
    }

    /// A spool that cannot write keeps the results in memory and reports nothing: the intake
    /// log and the journal keep them.
    @Test func nothingIsReportedWhileTheSpoolCannotWrite() async throws {
        let directory = spoolTestDirectory("worker")
        let clock = ManualClock()
        let sink = FakeSink()
        sink.confirming = false
        let worker = makeWorker(sink, directory, clock: clock)
        let reported = Locked<[UInt64]>([])
        worker.onDurable { number in reported.withLock { $0.append(number) } }
        let running = Task { await worker.run() }
        #expect(await eventually { worker.stats.connects == 1 && clock.blockedThreads == 1 })
        // A file where the spool directory was: every write fails, for root too.
        #expect(rename(directory, directory + ".away") == 0)
        try FileSystem.writeAtomically("", to: directory)
        worker.accept(results(2), intake: 4)
        #expect(await eventually { worker.stats.accepted == 2 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(reported.withLock { $0 }.isEmpty)
        unlink(directory)
        #expect(rename(directory + ".away", directory) == 0)
        worker.accept(results(1), intake: 5)
        #expect(await eventually { reported.withLock { $0.last } == 5 }, "the next write takes the earlier results too")
        #expect(spooled(directory).count == 3)
        await worker.shutdown(timeout: 0)
        await running.value
    }

    /// A burst is written to the spool in runs of the sink's `intakeRun` with a round of sending after
    /// each, not all before the first is sent; all of it arrives, in order.
    @Test func aBurstIsTakenInRunsWithSendingInBetween() async throws {
        let (sink, _, _) = await deliverToAHealthySink(5_000)
        // FakeSink sends 1,000 a round: a run of 2,000 taken, 1,000 sent, 2,000 more taken,
        // 1,000 sent, the last 1,000 taken, then 1,000 sent a round. All at once: [5,000, ...].
        #expect(sink.spoolSizes.filter { $0 > 0 } == [2_000, 3_000, 3_000, 2_000, 1_000])
    }

    /// A sink that asks for no runs (one that waits for each answer) gets the burst at once.
    @Test func aSinkWithoutRunsTakesTheWholeBurstAtOnce() async throws {
        let (sink, _, _) = await deliverToAHealthySink(5_000, intakeRun: nil)
        #expect(sink.spoolSizes.filter { $0 > 0 } == [5_000, 4_000, 3_000, 2_000, 1_000])
    }

    /// Runs are for a sink that keeps up: once results have waited behind runs for
    /// `intakeBacklogAge`, the next round takes all of them into the spool.
    @Test func aBacklogOlderThanItsAgeIsTakenWhole() async throws {
        let (_, clock, sink, worker, running) = await startWorkerWithItsSendingHeld()
        let sent = results(5_000)
        worker.accept(sent)
        #expect(await eventually { sink.exchangeGate.waiting == 1 }, "took a run and is sending it")
        clock.advance(seconds: SinkWorker<FakeSink>.intakeBacklogAge)
        sink.exchangeGate.open()
        #expect(await eventually { sink.delivered.count == 5_000 })
        await worker.shutdown(timeout: 1)
        await running.value
        #expect(sink.delivered == sent.map(\.id))
        #expect(sink.spoolSizes.filter { $0 > 0 }.prefix(2) == [2_000, 4_000], "1,000 left of the run, and the other 3,000")
    }

    /// Hands `count` results at once to a worker whose sink confirms everything, waits until
    /// all are delivered and stops it; checks they arrived in order.
    func deliverToAHealthySink(_ count: Int, intakeRun: Int? = 2_000) async -> (FakeSink, SinkWorker<FakeSink>, directory: String) {
        let directory = spoolTestDirectory("worker")
        let sink = FakeSink(intakeRun: intakeRun)
        let worker = makeWorker(sink, directory, clock: ManualClock())
        let running = Task { await worker.run() }
        #expect(await eventually { worker.stats.connects == 1 })
        let sent = results(count)
        worker.accept(sent)
        #expect(await eventually { sink.delivered.count == count })
        await worker.shutdown(timeout: 1)
        await running.value
        #expect(sink.delivered == sent.map(\.id))
        return (sink, worker, directory)
    }

    @Test func aHealthySinkLeavesNothingOnDisk() async throws {
        let (_, worker, directory) = await deliverToAHealthySink(50)
        #expect(spoolFiles(directory).isEmpty)
        #expect(!FileSystem.exists(directory + "/intake.journal"))
        #expect(worker.stats.accepted == 50 && worker.stats.spooled == 0)
    }
}
