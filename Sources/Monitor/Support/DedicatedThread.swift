#if canImport(Glibc)
import Glibc
#endif

/// One OS thread that runs blocking work (C client libraries, terminal writes) in order, off
/// Swift's cooperative pool: on two cores, two blocked calls there would stop the whole program.
///
/// Jobs run one at a time in submission order, so a C handle owned by one `DedicatedThread` is
/// only ever touched by that thread. Example:
/// ```swift
/// let thread = DedicatedThread(name: "amqp")
/// let ok = try await thread.run { try connection.publish(body) }
/// ```
public final class DedicatedThread: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `mutex`.
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var jobs: [() -> Void] = []
    private var head = 0
    private var stopping = false
    private var thread: pthread_t?
    public let name: String

    public init(name: String) {
        self.name = name
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        let box = Unmanaged.passRetained(self)
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let me = Unmanaged<DedicatedThread>.fromOpaque(raw!).takeRetainedValue()
            me.loop()
            return nil
        }, box.toOpaque())
        precondition(rc == 0, "pthread_create failed: \(rc)")
        thread = handle
    }

    /// Runs `body` on the thread and returns its value; the caller's task suspends meanwhile.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Queues `body` without waiting for it.
    public func submit(_ body: @escaping () -> Void) {
        pthread_mutex_lock(&mutex)
        if stopping {
            pthread_mutex_unlock(&mutex)
            body()  // the thread is gone; run inline rather than lose the job
            return
        }
        jobs.append(body)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// Finishes the queued jobs and ends the thread (joins it).
    public func stop() {
        pthread_mutex_lock(&mutex)
        stopping = true
        pthread_cond_signal(&condition)
        let handle = thread
        thread = nil
        pthread_mutex_unlock(&mutex)
        if let handle, !pthread_equal(handle, pthread_self()).isTrue { pthread_join(handle, nil) }
    }

    private func loop() {
        while true {
            pthread_mutex_lock(&mutex)
            while head == jobs.count && !stopping { pthread_cond_wait(&condition, &mutex) }
            if head == jobs.count && stopping {
                pthread_mutex_unlock(&mutex)
                return
            }
            let batch = Array(jobs[head...])
            jobs.removeAll(keepingCapacity: true)
            head = 0
            pthread_mutex_unlock(&mutex)
            for job in batch { job() }
        }
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&condition)
    }
}

extension Int32 {
    fileprivate var isTrue: Bool { self != 0 }
}
