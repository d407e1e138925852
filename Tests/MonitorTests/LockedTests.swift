import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct LockedTests {
    /// Four threads append to one array under the lock, so the lock is contended and handed
    /// from thread to thread through the futex slow path. Every append must be there, each
    /// thread's in its own order. Under `make tsan` this is also the check that ThreadSanitizer
    /// follows those hand-overs: with a bare `Mutex` (or `Locked` built without its annotations)
    /// TSan reports the appends as a data race in every run.
    @Test func contendedAppendsFromFourThreadsAreAllKeptInEachThreadsOrder() throws {
        let shared = Locked<[(thread: Int, index: Int)]>([])
        let perThread = 20_000
        let threads = (0..<4).map { DedicatedThread(name: "locked-\($0)") }
        defer { threads.forEach { $0.stop() } }
        let finished = Locked(0)
        for (number, thread) in threads.enumerated() {
            try thread.submit {
                for index in 0..<perThread { shared.withLock { $0.append((number, index)) } }
                finished.withLock { $0 += 1 }
            }
        }
        while finished.withLock({ $0 }) < threads.count { usleep(1_000) }
        let entries = shared.withLock { $0 }
        #expect(entries.count == threads.count * perThread)
        for number in threads.indices {
            #expect(entries.filter { $0.thread == number }.map(\.index) == Array(0..<perThread))
        }
    }

    @Test func withLockReturnsTheBodysResultAndRethrowsItsError() {
        struct Refused: Error, Equatable {}
        let counter = Locked(41)
        #expect(counter.withLock { value -> Int in value += 1; return value } == 42)
        #expect(throws: Refused.self) {
            try counter.withLock { (value: inout Int) throws(Refused) in value = 0; throw Refused() }
        }
        #expect(counter.withLock { $0 } == 0, "what the body changed before throwing stays changed")
    }
}
