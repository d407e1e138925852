#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A few OS threads sharing one FIFO of blocking jobs (`getaddrinfo`), off Swift's cooperative
/// pool. Unlike one `DedicatedThread`, a slow job (a DNS server that does not answer) holds up one
/// thread only; the others keep taking jobs.
final class BlockingPool: @unchecked Sendable {
    // @unchecked: `jobs`, `head` and `stopping` are guarded by `lock`.
    private let lock = ConditionLock()
    private var jobs: [() -> Void] = []
    private var head = 0
    let name: String

    /// Starts `threads` threads; they live as long as the process (the pool is a shared singleton).
    init(name: String, threads: Int) {
        self.name = name
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

    /// Runs `body` on one of the pool's threads; the caller's task suspends meanwhile.
    ///
    /// If the task is cancelled first, this returns `cancelled` at once and `body` finishes in the
    /// background, its value discarded: a blocked system call cannot be interrupted, but the
    /// caller need not wait for it.
    func run<T: Sendable>(cancelled: T, _ body: @escaping @Sendable () -> T) async -> T {
        let slot = ContinuationSlot<T>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                slot.fill(continuation)
                if Task.isCancelled { slot.resume(returning: cancelled) }
                submit {
                    let value = body()
                    slot.resume(returning: value)
                }
            }
        } onCancel: {
            slot.resume(returning: cancelled)
        }
    }

    /// A continuation resumed by whichever comes first, the job or the cancellation.
    private final class ContinuationSlot<T: Sendable>: Sendable {
        private let continuation = Mutex<CheckedContinuation<T, Never>?>(nil)

        func fill(_ value: CheckedContinuation<T, Never>) {
            continuation.withLock { $0 = value }
        }

        func resume(returning value: T) {
            continuation.withLock { $0.take() }?.resume(returning: value)
        }
    }

    private func submit(_ job: @escaping () -> Void) {
        lock.lock()
        jobs.append(job)
        lock.signal()
        lock.unlock()
    }

    private func loop() {
        while true {
            lock.lock()
            while head == jobs.count { lock.wait() }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            lock.unlock()
            job()
        }
    }
}
