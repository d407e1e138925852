/// Every timer of the scheduler (the planned start of a run, its hard deadline) on one timeline
/// served by one driver, instead of one `Task.sleep` each: an entry is an action the driver calls
/// when it is due (`schedule(at:_:)`).
///
/// With thousands of checks, a `Task.sleep` per wait costs a system timer per sleep, and the
/// cancelled hard deadlines of runs that finished in time stay armed until they would have
/// fired: at 10,000 runs a second that is hundreds of thousands of live timers (memory and CPU).
/// Here an entry is a heap entry and a closure; the driver (`run()`) sleeps until the earliest
/// entry is due, calls every due entry at once, and is woken early only when a new entry is due
/// before the one it waits for.
///
/// An entry may allow an earlier start (`schedule(at:earliest:_:)`, the scheduler's timer slack):
/// the driver still wakes at the earliest deadline, and then also calls every entry whose
/// earliest start has come, so runs planned close together share one wake-up. On this kind of
/// machine a wake-up costs more than a loopback connect (measured: a C loop doing 100 connects a
/// second, one per wake-up, spent 130 us of CPU per connect; back to back, 23 us).
final class TimerQueue<C: Clock>: Sendable where C.Duration == Duration {
    /// Called by the driver when due; dropped when cancelled or stopped. A struct around the
    /// closure: a bare closure kept in a dictionary or an array is stored at the generic
    /// abstraction, and each conversion in and out allocated a thunk (2 allocations per entry,
    /// counted with a uprobe on `malloc`).
    private struct Entry: Sendable {
        let action: @Sendable () -> Void
    }

    private struct State {
        /// Every entry, by deadline: when the driver must wake.
        var heap = DeadlineHeap<UInt64>()
        /// The entries that may start before their deadline, by earliest start.
        var early = DeadlineHeap<UInt64>()
        /// Waiting entries by id; an id missing here left the heap as a dead entry.
        var waiters: [UInt64: Entry] = [:]
        var nextID: UInt64 = 0
        /// The deadline the driver sleeps until (`Int64.max`: it waits for an entry).
        var driverTarget = Int64.max
        /// The driver's clock sleep, cancelled to wake it early.
        var driverSleep: Task<Void, Never>?
        /// The driver's idle wait, resumed by the first new entry.
        var driverIdle: UnsafeContinuation<Void, Never>?
        var stopped = false
        /// The driver is a thread, woken through `threadWake`.
        var threadDriven = false

        /// Adds entry `id` to the heaps; what wakes the driver when it is now the earliest.
        mutating func enqueue(_ id: UInt64, deadline: Int64, earliest: Int64) -> Wake {
            heap.push(deadline: deadline, value: id)
            if earliest < deadline { early.push(deadline: earliest, value: id) }
            guard deadline < driverTarget else { return .none }
            driverTarget = deadline
            if threadDriven { return .signal }
            if let idle = driverIdle {
                driverIdle = nil
                return .idle(idle)
            }
            return .sleep(driverSleep)
        }
    }

    private enum Wake {
        case none
        case sleep(Task<Void, Never>?)
        case idle(UnsafeContinuation<Void, Never>?)
        /// The driver is a thread (`runOnThread`): signal it.
        case signal
    }

    let clock: C
    /// Deadlines are kept as nanoseconds since this instant.
    let origin: C.Instant
    private let state = Locked(State())

    init(clock: C, origin: C.Instant) {
        self.clock = clock
        self.origin = origin
    }

    /// Entries waiting now.
    var pendingCount: Int { state.withLock { $0.waiters.count } }

    /// Nanoseconds from `origin` to `instant`.
    func offset(of instant: C.Instant) -> Int64 {
        let d = origin.duration(to: instant).components
        return d.seconds * 1_000_000_000 + d.attoseconds / 1_000_000_000
    }

    /// Calls `action` at `deadline` (nanoseconds since `origin`) on the driver's task, unless
    /// `cancel`led first; or from `earliest` on, when the driver is awake then for another entry.
    /// Keep it short: every other due entry waits for it. Returns the entry's id, or `nil` when
    /// the queue has stopped (the action will never be called).
    @discardableResult
    func schedule(at deadline: Int64, earliest: Int64? = nil, _ action: @escaping @Sendable () -> Void) -> UInt64? {
        let (wake, id) = state.withLock { s -> (Wake, UInt64?) in
            if s.stopped { return (.none, nil) }
            s.nextID += 1
            s.waiters[s.nextID] = Entry(action: action)
            return (s.enqueue(s.nextID, deadline: deadline, earliest: earliest ?? deadline), s.nextID)
        }
        wakeDriver(wake)
        return id
    }

    /// Removes a scheduled action not yet called (nothing when it was, or `id` is `nil`).
    func cancel(_ id: UInt64?) {
        guard let id else { return }
        state.withLock { _ = $0.waiters.removeValue(forKey: id) }
    }

    private func wakeDriver(_ wake: Wake) {
        switch wake {
        case .none: break
        case .sleep(let task): task?.cancel()
        case .idle(let idle): idle?.resume()
        case .signal:
            threadWake.withLock {
                wakePending = true
                threadWake.signal()
            }
        }
    }

    /// Takes the entries due at `now`, then those whose earliest start has come (into `due`);
    /// returns the next deadline, if any, and how many of `due` had reached their deadline.
    private func takeDue(now: Int64, into due: inout [Entry]) -> (next: Int64?, late: Int) {
        state.withLock { s -> (next: Int64?, late: Int) in
            while let entry = s.heap.popDue(now: now) {
                if let waiter = s.waiters.removeValue(forKey: entry.value) { due.append(waiter) }
            }
            let late = due.count
            while let entry = s.early.popDue(now: now) {
                if let waiter = s.waiters.removeValue(forKey: entry.value) { due.append(waiter) }
            }
            // An entry taken early, or cancelled, is not worth a wake-up when its deadline comes.
            while let first = s.heap.first, s.waiters[first.value] == nil { _ = s.heap.popDue(now: first.deadline) }
            if s.heap.count > 2 * s.waiters.count + 4096 {
                let waiters = s.waiters
                s.heap.compact { waiters[$0] != nil }
                s.early.compact { waiters[$0] != nil }
            }
            s.driverTarget = s.heap.first?.deadline ?? Int64.max
            return (s.heap.first?.deadline, late)
        }
    }

    /// Calls the due actions.
    private static func fire(_ due: inout [Entry]) {
        for entry in due { entry.action() }
        due.removeAll(keepingCapacity: true)
    }

    /// Stops the queue: no action is called any more, and none is taken.
    private func stop() {
        state.withLock { s in
            s.stopped = true
            s.waiters.removeAll()
        }
    }

    /// Drives the queue until cancelled; then it stops (see `stop`). On the real clocks
    /// (`ContinuousClock`, `SuspendingClock`) a thread of its own drives it (`runOnThread`).
    func run() async {
        if C.self == ContinuousClock.self || C.self == SuspendingClock.self {
            await runOnThread()
        } else {
            await runOnClock()
        }
    }

    // The thread driver's wake-up: `wakePending` is guarded by `threadWake`.
    private let threadWake = ConditionLock()
    nonisolated(unsafe) private var wakePending = false
    nonisolated(unsafe) private var threadStopping = false

    /// The driver as a thread of its own, sleeping in a timed condition wait: measured with
    /// 10,000 results a second, a task sleeping on the clock per wake-up (libdispatch's timers
    /// and its manager thread) took a fifth of the monitor's CPU.
    private func runOnThread() async {
        state.withLock { $0.threadDriven = true }
        // Nice -5 where allowed (root, CAP_SYS_NICE; elsewhere it stays 0): a run's lateness is
        // what the scheduler answers for, and the actions are short.
        let thread = DedicatedThread(name: "timers", niceness: -5)
        let helper = DedicatedThread(name: "timers-help", niceness: -5)
        await withTaskCancellationHandler {
            _ = try? await thread.run { [self] in threadLoop(helper: helper) }
        } onCancel: {
            threadWake.withLock {
                threadStopping = true
                threadWake.signal()
            }
        }
        thread.stop()
        helper.stop()
        stop()
    }

    /// A batch is shared with the helper thread when this many of its actions had reached their
    /// deadline (about 1 ms of runs at 16,000 a second): the driver is behind. Below it one
    /// thread runs them: sharing every batch at 10,000 checks a second (about 10 per wake) cost
    /// 7 us more CPU per check (a wake-up per batch, and the router's locks bouncing between the
    /// cores) for a lag that was already within 2.5 ms. Actions taken early (timer slack) do not
    /// count: they start before their deadline however long the batch takes before them, up to
    /// their slack.
    static var sharedFrom: Int { 16 }

    private func threadLoop(helper: DedicatedThread) {
        let monotonic = MonotonicClock()
        var due: [Entry] = []
        while !threadWake.withLock({ threadStopping }) {
            let woke = monotonic.seconds()
            let now = offset(of: clock.now)
            let (next, late) = takeDue(now: now, into: &due)
            // A large batch of late runs (thousands a second) is split with the helper thread, so
            // the two cores start it and one thread preempted delays only its half. A check never
            // overlaps itself either way: its next start is planned when its run ends.
            if late >= Self.sharedFrom {
                let half = Array(due[(due.count / 2)...])
                due.removeLast(due.count - due.count / 2)
                if (try? helper.submit({ for entry in half { entry.action() } })) == nil {
                    due.append(contentsOf: half)
                }
            }
            Self.fire(&due)
            let deadline = next.map { woke + Double(Self.wake(for: $0, batchAt: now) - now) / 1e9 } ?? .infinity
            threadWake.withLock {
                // An entry earlier than `next` may have come in since `takeDue`: then `wakePending`.
                while !wakePending && !threadStopping {
                    if monotonic.wait(threadWake, until: deadline) { break }
                }
                wakePending = false
            }
        }
    }

    /// When a driver that took a batch at `now` next wakes, for the entry due at `next`: at most
    /// once a millisecond. With thousands of runs a second every wake then starts a batch of them
    /// (a run starts at most ~1 ms late) instead of paying a system timer and a context switch
    /// per run. The millisecond counts from the batch's start, not its end: counted from the end,
    /// a batch that took 0.8 ms of a millisecond's runs was followed by a full millisecond asleep,
    /// and at 20,000 runs a second every run started 2.5-5 ms late.
    private static func wake(for next: Int64, batchAt now: Int64) -> Int64 {
        max(next, now + 1_000_000)
    }

    /// The driver as a task sleeping on the clock: for an injected clock (tests), and for a
    /// queue that serves one run (`Scheduler.execute(_:)`, as `healthmonitor once` runs every
    /// check), where a thread each would be thousands of threads.
    func runOnClock() async {
        var due: [Entry] = []
        while !Task.isCancelled {
            let now = offset(of: clock.now)
            let next = takeDue(now: now, into: &due).next
            Self.fire(&due)
            if let next {
                let target = origin.advanced(by: .nanoseconds(Self.wake(for: next, batchAt: now)))
                let sleeper = Task { _ = try? await clock.sleep(until: target, tolerance: .microseconds(50)) }
                let earlier = state.withLock { s -> Bool in
                    // An entry may have come in, earlier than `next`, since the lock was last held.
                    if s.driverTarget < next { return true }
                    s.driverSleep = sleeper
                    return false
                }
                if earlier { sleeper.cancel() }
                await withTaskCancellationHandler {
                    await sleeper.value
                } onCancel: {
                    sleeper.cancel()
                }
                state.withLock { $0.driverSleep = nil }
            } else {
                await withTaskCancellationHandler {
                    await withUnsafeContinuation { continuation in
                        let resumeNow = state.withLock { s -> Bool in
                            if s.driverTarget != Int64.max || Task.isCancelled { return true }
                            s.driverIdle = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    state.withLock { s in
                        defer { s.driverIdle = nil }
                        return s.driverIdle
                    }?.resume()
                }
            }
        }
        stop()
    }
}
