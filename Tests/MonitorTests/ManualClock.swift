import Monitor

/// A clock that only moves when the test says so; sleepers wake when it passes their deadline.
///
/// It is both a Swift `Clock` (for the scheduler's tasks) and a `ThreadClock` (for code on its
/// own thread: sink workers, the intake journal), so one test drives both kinds of code with the
/// same `advance`.
final class ManualClock: Clock, ThreadClock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
    }

    private struct Sleeper {
        var id: Int
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    /// A thread blocked in `wait(_:until:)`.
    private struct ThreadWaiter {
        var id: Int
        var lock: ConditionLock
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Sleeper] = []
        var threadWaiters: [ThreadWaiter] = []
        var threadWaits = 0
        var nextID = 0
    }

    private let state = Locked(State())

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .zero }

    /// Tasks currently sleeping on this clock.
    var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Checked under the lock: a cancellation that came before registration finds no
                // sleeper to resume, so the registration itself must see it.
                enum Outcome { case wait, ready, cancelled }
                let outcome = state.withLock { s -> Outcome in
                    if Task.isCancelled { return .cancelled }
                    if deadline <= s.now { return .ready }
                    s.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return .wait
                }
                switch outcome {
                case .wait: break
                case .ready: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let sleeper = state.withLock { s -> Sleeper? in
                guard let i = s.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return s.sleepers.remove(at: i)
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has come, and every blocked
    /// thread (each re-checks its own deadline).
    func advance(by duration: Duration) {
        let (due, threads) = state.withLock { s -> ([Sleeper], [ThreadWaiter]) in
            s.now = s.now.advanced(by: duration)
            let now = s.now
            let due = s.sleepers.filter { $0.deadline <= now }
            s.sleepers.removeAll { $0.deadline <= now }
            return (due, s.threadWaiters)
        }
        for sleeper in due { sleeper.continuation.resume() }
        // Taking the waiter's lock first means a thread between its check of `now` and its
        // `wait()` cannot miss this wake-up: it holds the lock until it waits.
        for waiter in threads { waiter.lock.withLock { waiter.lock.broadcast() } }
    }

    /// Moves time forward by `seconds`.
    func advance(seconds: Double) {
        advance(by: .nanoseconds(Int64((seconds * 1e9).rounded())))
    }

    // MARK: ThreadClock

    /// Seconds since the clock was made, as far as `advance` has moved it.
    func seconds() -> Double {
        Self.seconds(now)
    }

    /// Blocks until `lock` is signalled or `advance` passes `deadline`; never times out in real time.
    func wait(_ lock: ConditionLock, until deadline: Double) -> Bool {
        let id = state.withLock { s -> Int? in
            guard Self.seconds(s.now) < deadline else { return nil }
            s.nextID += 1
            s.threadWaiters.append(ThreadWaiter(id: s.nextID, lock: lock))
            s.threadWaits += 1
            return s.nextID
        }
        guard let id else { return true }
        lock.wait()
        return state.withLock { s in
            s.threadWaiters.removeAll { $0.id == id }
            return Self.seconds(s.now) >= deadline
        }
    }

    /// Threads blocked in `wait(_:until:)` now.
    var blockedThreads: Int { state.withLock { $0.threadWaiters.count } }

    /// Times a thread has blocked in `wait(_:until:)` so far: when it grows, a thread woke,
    /// looked at the clock and chose to wait again.
    var threadWaits: Int { state.withLock { $0.threadWaits } }

    private static func seconds(_ instant: Instant) -> Double {
        let parts = instant.offset.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}

/// Waits (real time, at most `seconds`) until `condition` holds. The bound only matters when
/// the condition never comes; it is generous so that a loaded machine, or ThreadSanitizer's
/// slowdown, never fails a test that would pass.
func eventually(within seconds: Double = 30, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return condition()
}
