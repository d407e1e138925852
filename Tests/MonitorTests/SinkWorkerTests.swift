import Logging
import Monitor
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A sink without a server: `connect` waits `connectDelay` seconds and then fails or succeeds;
/// once connected, `exchange` confirms everything pending and remembers the ids in order.
final class StubSink: Sink, @unchecked Sendable {
    // @unchecked: touched by the worker thread; the test reads `delivered` under the mutex.
    let connectDelay: Double
    let reachable: Bool
    private let deliveredIDs = Mutex<[String]>([])
    var endpoint: String { "stub" }

    init(connectDelay: Double, reachable: Bool) {
        self.connectDelay = connectDelay
        self.reachable = reachable
    }

    var delivered: [String] { deliveredIDs.withLock { $0 } }

    struct Unreachable: Error {}

    func connect() throws {
        usleep(UInt32(connectDelay * 1_000_000))
        if !reachable { throw Unreachable() }
    }

    func disconnect(graceful: Bool) {}

    func exchange(_ spool: inout Spool<CheckResult>, stats: inout SinkStats, flushing: Bool) throws -> Double {
        let entries = spool.takeToSend(max: 1000)
        spool.complete(entries.map(\.seq))
        stats.delivered += entries.count
        deliveredIDs.withLock { $0 += entries.map(\.record.id) }
        return entries.isEmpty ? 0.05 : 0
    }
}

@Suite struct SinkWorkerTests {
    func results(_ n: Int) -> [CheckResult] {
        (0..<n).map { CheckResult(status: .success, check: "random", label: "w", message: "\($0)") }
    }

    @Test func resultsWaitingWhileAConnectAttemptBlocksAreJournaledAtOnce() async throws {
        let directory = spoolTestDirectory("worker")
        let worker = SinkWorker(
            sink: StubSink(connectDelay: 2, reachable: false), settings: .init(spoolDirectory: directory),
            logger: Logger(label: "test"), threadName: "stub")
        let running = Task { await worker.run() }
        try await Task.sleep(for: .milliseconds(100))  // the worker is inside its first connect
        let sent = results(3)
        worker.accept(sent)
        try await Task.sleep(for: .milliseconds(300))
        // A `kill -9` now would leave exactly this on disk:
        let journaled = IntakeJournal.recover(path: directory + "/intake.journal")
        #expect(journaled.results.map(\.id) == sent.map(\.id))
        await worker.shutdown(timeout: 0.1)
        running.cancel()
        #expect(!FileSystem.exists(directory + "/intake.journal"), "after a clean stop the spool files hold everything")
        var spool = Spool<CheckResult>(directory: directory, memoryLimit: 100)
        #expect(spool.takeToSend(max: 100).map(\.record.id) == sent.map(\.id))
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
        let sink = StubSink(connectDelay: 0, reachable: true)
        let worker = SinkWorker(sink: sink, settings: .init(spoolDirectory: directory), logger: Logger(label: "test"), threadName: "stub")
        let running = Task { await worker.run() }
        #expect(await waitUntil { sink.delivered.count == 4 })
        await worker.shutdown(timeout: 1)
        running.cancel()
        #expect(sink.delivered == (older + newer).map(\.id))
        #expect(!FileSystem.exists(directory + "/intake.journal"))
    }

    @Test func aHealthySinkLeavesNothingOnDisk() async throws {
        let directory = spoolTestDirectory("worker")
        let sink = StubSink(connectDelay: 0, reachable: true)
        let worker = SinkWorker(sink: sink, settings: .init(spoolDirectory: directory), logger: Logger(label: "test"), threadName: "stub")
        let running = Task { await worker.run() }
        #expect(await waitUntil { worker.stats.connects == 1 })
        let sent = results(50)
        worker.accept(sent)
        #expect(await waitUntil { sink.delivered.count == 50 })
        await worker.shutdown(timeout: 1)
        running.cancel()
        #expect(sink.delivered == sent.map(\.id))
        #expect(spoolFiles(directory).isEmpty)
        #expect(!FileSystem.exists(directory + "/intake.journal"))
        #expect(worker.stats.accepted == 50 && worker.stats.spooled == 0)
    }

    func waitUntil(_ seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
        let deadline = MonotonicTime.seconds() + seconds
        while MonotonicTime.seconds() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
