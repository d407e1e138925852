import Monitor

/// A barrier a fake's blocking call (a connect, an insert) passes through, so a test decides
/// when that call returns instead of sleeping: while the gate is closed, `pass()` blocks the
/// calling thread; `waiting` tells the test that the call has started.
final class Gate: @unchecked Sendable {
    // @unchecked: `closed`, `waiting` and `arrivals` are guarded by `lock`.
    private let lock = ConditionLock()
    private var closed = false
    private var waitingNow = 0
    private var arrivalCount = 0

    /// Makes later `pass()` calls block until `open()`.
    func close() {
        lock.withLock { closed = true }
    }

    /// Lets every blocked and later `pass()` through.
    func open() {
        lock.withLock {
            closed = false
            lock.broadcast()
        }
    }

    /// Called by the fake, on its own thread (never on Swift's cooperative pool).
    func pass() {
        lock.withLock {
            arrivalCount += 1
            waitingNow += 1
            while closed { lock.wait() }
            waitingNow -= 1
        }
    }

    /// Threads blocked in `pass()` now.
    var waiting: Int { lock.withLock { waitingNow } }

    /// Calls of `pass()` so far.
    var arrivals: Int { lock.withLock { arrivalCount } }
}
