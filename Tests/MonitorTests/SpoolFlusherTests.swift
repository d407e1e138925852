import Synchronization
import Testing

@testable import Monitor

#if canImport(Glibc)
import Glibc
#endif

struct SpoolFlusherTests {
    /// Positions are reported once the files handed over with them are flushed; a file removed
    /// meanwhile (its records all confirmed) needs no flush.
    @Test func reportsEachPositionAfterItsFilesAreFlushed() async throws {
        let directory = spoolTestDirectory("flusher")
        let reported = Locked<[Int]>([])
        let flusher = SpoolFlusher(threadName: "test-flush") { position in reported.withLock { $0.append(position) } }
        try FileSystem.append(["1 a", "2 b"], to: directory + "/a.spool", flush: false)
        flusher.flush([(directory + "/a.spool", true)], upTo: 2)
        #expect(await eventually { reported.withLock { $0.last } == 2 })
        flusher.flush([(directory + "/gone.spool", true)], upTo: 5)
        #expect(await eventually { reported.withLock { $0.last } == 5 })
        flusher.flush([], upTo: 6)
        #expect(await eventually { reported.withLock { $0.last } == 6 }, "nothing new to flush: reported all the same")
        #expect(flusher.stop())
        #expect(reported.withLock { $0 } == reported.withLock { $0 }.sorted(), "increasing")
        #expect(flusher.takeProblems().isEmpty)
    }

    /// A file that cannot be flushed holds back its position and every later one (the intake
    /// journal and log keep those results) until a retry succeeds.
    @Test func aFailedFlushHoldsBackLaterPositionsUntilARetrySucceeds() async throws {
        let directory = spoolTestDirectory("flusher")
        // A regular file where a directory should be: opening a path under it fails (ENOTDIR).
        try FileSystem.writeAtomically("", to: directory + "/blocker")
        let reported = Locked<[Int]>([])
        let flusher = SpoolFlusher(threadName: "test-flush", retryAfter: 0.01) { position in
            reported.withLock { $0.append(position) }
        }
        flusher.flush([(directory + "/blocker/x.spool", false)], upTo: 3)
        #expect(await eventually { !flusher.takeProblems().isEmpty })
        try FileSystem.append(["4 d"], to: directory + "/b.spool", flush: false)
        flusher.flush([(directory + "/b.spool", true)], upTo: 4)
        try await Task.sleep(for: .milliseconds(50))
        #expect(reported.withLock { $0 }.isEmpty, "position 4 waits for the file of position 3")
        unlink(directory + "/blocker")  // the path is gone now: nothing left to flush there
        #expect(await eventually { reported.withLock { $0.last } == 4 })
        #expect(flusher.stop())
    }
}
