#if canImport(Glibc)
import Glibc
#endif

/// Hands items from async code (which must never wait) to one dedicated thread (which may
/// block while it waits for them, with a timeout).
///
/// `push` and `wake` never block beyond a short mutex; `wait` blocks the calling thread, so only
/// a `DedicatedThread` job calls it, never a task on Swift's cooperative pool.
public final class Handoff<Element: Sendable>: @unchecked Sendable {
    // @unchecked: `items` and `woken` are guarded by `mutex`.
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var items: [Element] = []
    /// Items taken so far: the position (counted from the first push) of `items[0]`.
    private var taken = 0
    private var woken = false

    public init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&condition)
    }

    /// Adds items and wakes the waiting thread.
    public func push(_ new: [Element]) {
        guard !new.isEmpty else { return }
        pthread_mutex_lock(&mutex)
        items.append(contentsOf: new)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// Wakes the waiting thread without items (e.g. to notice a stop request).
    public func wake() {
        pthread_mutex_lock(&mutex)
        woken = true
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// Takes every item, oldest first, without waiting.
    public func take() -> [Element] {
        takeNumbered().items
    }

    /// Takes every item, oldest first, with the position of the first one (items are numbered
    /// from 0 in push order).
    public func takeNumbered() -> (first: Int, items: [Element]) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let out = (taken, items)
        taken += items.count
        items.removeAll(keepingCapacity: true)
        return out
    }

    /// A copy of the items still waiting whose position is at least `position`, with the
    /// position of the first one; nothing is taken.
    public func waiting(from position: Int) -> (first: Int, items: [Element]) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        let start = max(position, taken)
        let offset = start - taken
        guard offset < items.count else { return (start, []) }
        return (start, Array(items[offset...]))
    }

    /// Items waiting now.
    public var count: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return items.count
    }

    /// Blocks the calling thread until items arrive, `wake()` is called, or `seconds` pass.
    public func wait(seconds: Double) {
        guard seconds > 0 else { return }
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let whole = Int(seconds)
        deadline.tv_sec += whole
        deadline.tv_nsec += Int((seconds - Double(whole)) * 1e9)
        if deadline.tv_nsec >= 1_000_000_000 {
            deadline.tv_sec += 1
            deadline.tv_nsec -= 1_000_000_000
        }
        pthread_mutex_lock(&mutex)
        while items.isEmpty && !woken {
            if pthread_cond_timedwait(&condition, &mutex, &deadline) == ETIMEDOUT { break }
        }
        woken = false
        pthread_mutex_unlock(&mutex)
    }
}
