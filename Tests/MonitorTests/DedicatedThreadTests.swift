import Monitor
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct DedicatedThreadTests {
    @Test func jobsRunInOrderOnOneThread() async throws {
        let thread = DedicatedThread(name: "test-order")
        defer { thread.stop() }
        let log = Locked<[(index: Int, thread: pthread_t)]>([])
        for index in 0..<100 {
            try thread.submit { log.withLock { $0.append((index, pthread_self())) } }
        }
        let caller = try await thread.run { pthread_self() }  // runs after the 100 jobs
        let entries = log.withLock { $0 }
        #expect(entries.map(\.index) == Array(0..<100))
        #expect(Set(entries.map(\.thread)) == [caller])
    }

    @Test func runAfterStopThrowsStoppedNamingTheThreadAndDoesNotRunTheJob() async throws {
        let thread = DedicatedThread(name: "test-stopped")
        _ = try await thread.run { 1 }
        thread.stop()
        let ran = Atomic<Bool>(false)
        do {
            _ = try await thread.run { ran.store(true, ordering: .sequentiallyConsistent) }
            Issue.record("run after stop() returned")
        } catch let error as DedicatedThread.Stopped {
            #expect(error.thread == "test-stopped")
            #expect(error.description.contains("\"test-stopped\""))
            #expect(error.isPermanent, "a delivery loop must not retry it")
        }
        #expect(throws: DedicatedThread.Stopped.self) {
            try thread.submit { ran.store(true, ordering: .sequentiallyConsistent) }
        }
        let didRun = ran.load(ordering: .sequentiallyConsistent)
        #expect(!didRun)
    }

    @Test func aThreadStoppedBeforeItsFirstJobRefusesJobs() {
        let thread = DedicatedThread(name: "test-never-started")
        thread.stop()
        #expect(throws: DedicatedThread.Stopped.self) { try thread.submit {} }
    }

    @Test func stopReturnsOnlyAfterTheQueuedJobsRan() async throws {
        let thread = DedicatedThread(name: "test-stop")
        let gate = Gate()
        gate.close()
        let log = Locked<[String]>([])
        try thread.submit {
            gate.pass()
            log.withLock { $0.append("1") }
        }
        for name in ["2", "3", "4"] { try thread.submit { log.withLock { $0.append(name) } } }
        // stop() blocks its caller, so it runs on another OS thread, never on the test's task.
        let stopper = DedicatedThread(name: "test-stopper")
        defer { stopper.stop() }
        async let stopped: Void = stopper.run {
            thread.stop()
            log.withLock { $0.append("stopped") }
        }
        // Once a submit is refused, stop() has begun; the first job is still held at the gate.
        #expect(await eventually { (try? thread.submit {}) == nil })
        #expect(gate.waiting == 1)
        gate.open()
        try await stopped
        #expect(log.withLock { $0 } == ["1", "2", "3", "4", "stopped"])
    }

    /// `finish` waits for the queued jobs without blocking a thread, then ends the thread.
    @Test func finishReturnsOnceTheQueuedJobsRanAndRefusesLaterOnes() async throws {
        let thread = DedicatedThread(name: "test-finish")
        let gate = Gate()
        gate.close()
        let ran = Atomic<Int>(0)
        try thread.submit { gate.pass() }
        try thread.submit { ran.add(1, ordering: .sequentiallyConsistent) }
        let finishing = Task { await thread.finish() }
        while gate.waiting < 1 { try await Task.sleep(for: .milliseconds(1)) }
        #expect(ran.load(ordering: .sequentiallyConsistent) == 0)
        gate.open()
        #expect(await finishing.value)
        #expect(ran.load(ordering: .sequentiallyConsistent) == 1)
        #expect(throws: DedicatedThread.Stopped.self) { try thread.submit {} }
    }

    /// Cancelled while a job stays blocked, `finish` gives up after `abandonAfter` and leaves
    /// the thread to end on its own.
    @Test func aCancelledFinishGivesUpOnABlockedJob() async throws {
        let thread = DedicatedThread(name: "test-abandon")
        let gate = Gate()
        gate.close()
        defer { gate.open() }
        try thread.submit { gate.pass() }
        while gate.waiting < 1 { try await Task.sleep(for: .milliseconds(1)) }
        let finishing = Task { await thread.finish(abandonAfter: 0.05) }
        finishing.cancel()
        #expect(await finishing.value == false)
        #expect(gate.waiting == 1, "the blocked job was not waited for")
    }
}
