#if canImport(Glibc)
import Glibc
#endif

/// A few OS threads sharing one FIFO of blocking jobs (`getaddrinfo`), off Swift's cooperative
/// pool. Unlike one `DedicatedThread`, a slow job (a DNS server that does not answer) holds up one
/// thread only; the others keep taking jobs.
///
/// The line is bounded and nobody waits in it for nothing (see `JobQueue`): a caller that is
/// cancelled or whose deadline passes leaves at once and its job never starts, and a caller that
/// finds `capacity` jobs waiting is refused at once. So when every thread hangs (a DNS outage),
/// memory stays bounded and every caller still hears back by its deadline.
final class BlockingPool: @unchecked Sendable {
    /// Why `run` returned without the job's value.
    enum Refusal: Error, Sendable, Hashable {
        /// Not queued: `waiting` jobs (the pool's capacity) were waiting already.
        case full(waiting: Int)
        /// The deadline passed first. A job not yet started never starts; a started one finishes
        /// on its thread and its value is dropped.
        case expired
        /// The calling task was cancelled first (the same holds for the job).
        case cancelled
    }

    /// One queued call: `run` does the work and answers the caller (unless it left meanwhile);
    /// `expire` answers a caller whose deadline passed in the queue.
    private struct Job {
        let run: () -> Void
        let expire: () -> Void
    }

    // @unchecked: `queue` is guarded by `lock`.
    private let lock = ConditionLock()
    private var queue: JobQueue<Job>
    let name: String

    /// Starts `threads` threads; they live as long as the process (the pool is a shared singleton).
    /// - Parameter capacity: jobs that may wait for a thread at once; more are refused (`.full`).
    init(name: String, threads: Int, capacity: Int) {
        self.name = name
        self.queue = JobQueue(capacity: capacity)
        for _ in 0..<max(1, threads) {
            let box = Unmanaged.passRetained(self)
            var handle = pthread_t()
            let rc = pthread_create(&handle, nil, { raw in
                let pool = Unmanaged<BlockingPool>.fromOpaque(raw!).takeRetainedValue()
                pool.loop()
                return nil
            }, box.toOpaque())
            precondition(rc == 0, "pthread_create failed: \(rc)")
            pthread_detach(handle)
        }
    }

    /// Jobs waiting for a thread now (not those running).
    var waiting: Int {
        lock.lock()
        defer { lock.unlock() }
        return queue.waiting
    }

    /// Runs `body` on one of the pool's threads and returns its value; the caller's task suspends
    /// meanwhile.
    ///
    /// Returns (throws) early, without waiting for `body`, when the queue is full, when `deadline`
    /// (`MonotonicClock` nanoseconds) passes, or when the task is cancelled: a blocked system call
    /// cannot be interrupted, but the caller need not wait for it, and a job not yet started is
    /// dropped.
    func run<T: Sendable>(deadline: Int64?, _ body: @escaping @Sendable () -> T) async throws(Refusal) -> T {
        guard let deadline else { return try await wait(for: body, deadline: nil).get() }
        let remaining = deadline - MonotonicClock.nanos()
        guard remaining > 0 else { throw .expired }
        let outcome = await withTaskGroup(of: Result<T, Refusal>.self) { group in
            group.addTask { await self.wait(for: body, deadline: deadline) }
            group.addTask {
                // The pool's threads may all be blocked, so the deadline is kept here, on a timer.
                try? await Task.sleep(for: .nanoseconds(remaining))
                return .failure(Task.isCancelled ? .cancelled : .expired)
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        return try outcome.get()
    }

    /// Queues `body` and waits for its value, the queue's refusal, or cancellation.
    private func wait<T: Sendable>(for body: @escaping @Sendable () -> T, deadline: Int64?) async -> Result<T, Refusal> {
        let slot = Slot<Result<T, Refusal>>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                guard slot.fill(continuation) else {
                    continuation.resume(returning: .failure(.cancelled))
                    return
                }
                let job = Job(
                    run: {
                        // The caller may have left since the job was taken from the queue.
                        guard slot.isWaiting else { return }
                        slot.answer(.success(body()))
                    },
                    expire: { slot.answer(.failure(.expired)) })
                switch submit(job, deadline: deadline) {
                case .full(let waiting):
                    slot.answer(.failure(.full(waiting: waiting)))
                case .queued(let ticket):
                    if !slot.keep(ticket) { remove(ticket) }
                }
            }
        } onCancel: {
            slot.leave(answer: .failure(.cancelled)) { ticket in remove(ticket) }
        }
    }

    /// The caller's continuation, answered once by whichever comes first (the job, the queue or
    /// the cancellation), and the ticket that takes its job out of the queue when it leaves.
    private final class Slot<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, Never>?
            var ticket: JobQueue<Job>.Ticket?
            var cancelled = false
        }

        private let state = Locked(State())

        /// Stores the continuation; `false` when the task was cancelled before (answer it yourself).
        func fill(_ continuation: CheckedContinuation<T, Never>) -> Bool {
            state.withLock { s in
                if s.cancelled { return false }
                s.continuation = continuation
                return true
            }
        }

        /// Stores the job's ticket; `false` when the caller was cancelled meanwhile (remove it).
        func keep(_ ticket: JobQueue<Job>.Ticket) -> Bool {
            state.withLock { s in
                if s.cancelled { return false }
                s.ticket = ticket
                return true
            }
        }

        /// Whether the caller still waits for the job's value.
        var isWaiting: Bool { state.withLock { $0.continuation != nil } }

        func answer(_ value: T) {
            state.withLock { $0.continuation.take() }?.resume(returning: value)
        }

        /// The caller was cancelled: takes its job out of the queue (`remove`, with the ticket, if
        /// it was queued), then answers it, so its place is free by the time it hears back.
        func leave(answer value: T, remove: (JobQueue<Job>.Ticket) -> Void) {
            let (continuation, ticket) = state.withLock { s in
                s.cancelled = true
                return (s.continuation.take(), s.ticket.take())
            }
            if let ticket { remove(ticket) }
            continuation?.resume(returning: value)
        }
    }

    private func submit(_ job: Job, deadline: Int64?) -> JobQueue<Job>.Admission {
        lock.lock()
        let admission = queue.enqueue(job, deadline: deadline)
        if case .queued = admission { lock.signal() }
        lock.unlock()
        return admission
    }

    private func remove(_ ticket: JobQueue<Job>.Ticket) {
        lock.lock()
        queue.remove(ticket)
        lock.unlock()
    }

    private func loop() {
        while true {
            lock.lock()
            while queue.isEmpty { lock.wait() }
            let (job, expired) = queue.next(now: MonotonicClock.nanos())
            lock.unlock()
            for job in expired { job.expire() }
            job?.run()
        }
    }
}
