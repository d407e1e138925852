#if canImport(Glibc)
import Glibc
#endif

/// A few OS threads sharing one FIFO of blocking jobs (`getaddrinfo`), off Swift's cooperative
/// pool. Unlike one `DedicatedThread`, a slow job (a DNS server that does not answer) holds up one
/// thread only; the others keep taking jobs.
final class BlockingPool: @unchecked Sendable {
    // @unchecked: `jobs`, `head` and `stopping` are guarded by `mutex`.
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var jobs: [() -> Void] = []
    private var head = 0
    let name: String

    /// Starts `threads` threads; they live as long as the process (the pool is a shared singleton).
    init(name: String, threads: Int) {
        self.name = name
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
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
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: body()) }
        }
    }

    private func submit(_ job: @escaping () -> Void) {
        pthread_mutex_lock(&mutex)
        jobs.append(job)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    private func loop() {
        while true {
            pthread_mutex_lock(&mutex)
            while head == jobs.count { pthread_cond_wait(&condition, &mutex) }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            pthread_mutex_unlock(&mutex)
            job()
        }
    }
}
