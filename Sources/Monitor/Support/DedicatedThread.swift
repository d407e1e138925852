internal import CLinux
#if canImport(Glibc)
import Glibc
#endif

/// One OS thread that runs blocking work (C client libraries, terminal writes) in order, off
/// Swift's cooperative pool: on two cores, two blocked calls there would stop the whole program.
///
/// Jobs run one at a time in submission order, so a C handle owned by one `DedicatedThread` is
/// only ever touched by that thread. After `stop()` the thread takes no more jobs: `submit` and
/// `run` throw `Stopped` rather than run the job on the caller (which may be a cooperative
/// thread). Example:
/// ```swift
/// let thread = DedicatedThread(name: "amqp")
/// let ok = try await thread.run { try connection.publish(body) }
/// ```
public final class DedicatedThread: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `lock`.

    /// A job was handed to a thread after `stop()`; it did not run.
    public struct Stopped: Error, CustomStringConvertible, PermanentError {
        /// The thread's name.
        public var thread: String
        /// What to log: which thread refused the job.
        public var description: String { "thread \"\(thread)\" has been stopped; the job did not run" }
        /// Always: a stopped thread never runs a job again.
        public var isPermanent: Bool { true }
    }

    private let lock = ConditionLock()
    private var jobs: [() -> Void] = []
    private var stopping = false
    private var thread: pthread_t?
    /// The name given at `init`, used in `Stopped` errors.
    public let name: String

    /// The thread's nice value: above 0 for background work that must yield the cores to the
    /// scheduler's timer thread when both are busy.
    public let niceness: Int32

    /// A thread named `name` (for logs and errors), at `niceness` (see `niceness`). The OS
    /// thread starts with the first job, so building a component that owns one (as `validate`
    /// does) starts none.
    public init(name: String, niceness: Int32 = 0) {
        self.name = name
        self.niceness = niceness
    }

    /// Runs `body` on the thread and returns its value; the caller's task suspends meanwhile.
    /// Throws `Stopped` (and `body` does not run) after `stop()`.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            do {
                try submit { continuation.resume(with: Result { try body() }) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// Queues `body` without waiting for it. Throws `Stopped` (and `body` does not run) after
    /// `stop()`.
    public func submit(_ body: @escaping () -> Void) throws(Stopped) {
        let accepted = lock.withLock {
            guard !stopping else { return false }
            if thread == nil { thread = start() }
            jobs.append(body)
            lock.signal()
            return true
        }
        if !accepted { throw Stopped(thread: name) }
    }

    /// Waits, without blocking a thread, until the jobs queued so far have run, then ends the
    /// thread (jobs submitted from now on are refused). Returns `true` when they ran.
    ///
    /// For async callers, which must not `stop()` (its join blocks the calling thread for as long
    /// as the last job runs). When the calling task is cancelled, the wait goes on for at most
    /// `abandonAfter` more seconds, then returns `false` and leaves the thread alone: a job blocked
    /// in a call that cannot be interrupted keeps it, and joining it would block the caller.
    @discardableResult
    public func finish(abandonAfter: Double = .infinity) async -> Bool {
        let ended = Latch()
        do {
            try submit { ended.settle(true) }
        } catch {
            return true  // stopped already: nothing left to run
        }
        let done = await withTaskCancellationHandler {
            await ended.wait()
        } onCancel: {
            ended.settle(false, after: abandonAfter)
        }
        if done { stop() }  // the thread is idle now: the join returns at once
        return done
    }

    /// A result settled once, by the first of `finish`'s job and its give-up timer.
    private final class Latch: Sendable {
        private struct State {
            var outcome: Bool?
            var waiter: CheckedContinuation<Bool, Never>?
        }
        private let state = Locked(State())

        func wait() async -> Bool {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { s -> Bool? in
                    if s.outcome == nil { s.waiter = continuation }
                    return s.outcome
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }

        /// Settles with `outcome`, after `seconds` (in a task of its own: the caller is cancelled).
        func settle(_ outcome: Bool, after seconds: Double) {
            guard seconds.isFinite else { return }
            Task { [self] in
                try? await Task.sleep(for: .seconds(seconds))
                settle(outcome)
            }
        }

        func settle(_ outcome: Bool) {
            let waiter = state.withLock { s -> CheckedContinuation<Bool, Never>? in
                guard s.outcome == nil else { return nil }
                s.outcome = outcome
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: outcome)
        }
    }

    /// Finishes the queued jobs and ends the thread; jobs submitted from now on are refused.
    /// The first call waits for the thread to end (joins it), unless it is made from a job.
    public func stop() {
        let handle = lock.withLock {
            stopping = true
            lock.signal()
            defer { thread = nil }
            return thread
        }
        guard let handle else { return }
        if pthread_equal(handle, pthread_self()) != 0 {
            pthread_detach(handle)  // a job cannot join its own thread; it is reaped when it ends
        } else {
            pthread_join(handle, nil)
        }
    }

    /// Creates the OS thread; it keeps `self` alive until its loop ends.
    private func start() -> pthread_t {
        let box = Unmanaged.passRetained(self)
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let me = Unmanaged<DedicatedThread>.fromOpaque(raw!).takeRetainedValue()
            // Named (15 bytes at most) for top -H, gdb and /proc/PID/task/TID/comm.
            _ = clinux_set_thread_name(String(me.name.utf8.prefix(15))!)
            // Linux nice values are per thread; lowering priority needs no privilege.
            if me.niceness != 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(clinux_gettid()), me.niceness) }
            me.loop()
            return nil
        }, box.toOpaque())
        // Out of threads or memory: nothing sensible can run without this thread.
        precondition(rc == 0, "cannot start thread \"\(name)\": pthread_create failed: \(rc)")
        return handle
    }

    private func loop() {
        while true {
            lock.lock()
            while jobs.isEmpty && !stopping { lock.wait() }
            if jobs.isEmpty {
                lock.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            lock.unlock()
            for job in batch { job() }
        }
    }
}
