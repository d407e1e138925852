/// Hands items from async code (which must never wait) to one dedicated thread (which may
/// block while it waits for them, with a timeout).
///
/// `push` and `wake` never block beyond a short mutex; `wait` blocks the calling thread, so only
/// a `DedicatedThread` job calls it, never a task on Swift's cooperative pool.
public final class Handoff<Element: Sendable>: @unchecked Sendable {
    // @unchecked: `items`, `taken` and `woken` are guarded by `lock`.
    private let lock = ConditionLock()
    private let clock: any ThreadClock
    private var items: [Element] = []
    /// Items taken so far: the position (counted from the first push) of `items[0]`.
    private var taken = 0
    private var woken = false
    /// Whether the consumer waits for items (`wait`), not only for time (`pause`): only then
    /// does a push wake it, so a timed-batch consumer is not woken once per item.
    private var waitingForItems = false
    /// While the consumer pauses with a count (`pause(seconds:orCount:)`): the number of items
    /// whose arrival ends the pause; `Int.max` otherwise.
    private var wakeAtCount = Int.max
    /// Called once by the next push or `wake()`: a consumer that waits elsewhere (on a socket)
    /// instead of in `wait` (see `armWake`).
    private var armedWake: (@Sendable () -> Void)?

    /// A handoff whose `wait` measures its timeout on `clock`.
    public init(clock: any ThreadClock = MonotonicClock()) {
        self.clock = clock
    }

    /// Adds items and wakes the waiting thread. Returns the position after the last item.
    @discardableResult
    public func push(_ new: [Element]) -> Int {
        let (position, armed) = lock.withLock { () -> (Int, (@Sendable () -> Void)?) in
            guard !new.isEmpty else { return (taken + items.count, nil) }
            items.append(contentsOf: new)
            if waitingForItems || items.count >= wakeAtCount { signalArrival() }
            return (taken + items.count, takeArmedWake())
        }
        armed?()
        return position
    }

    /// Adds one item (no array made for it) and wakes the waiting thread. Returns its position after it.
    @discardableResult
    public func push(one item: Element) -> Int {
        let (position, armed) = lock.withLock { () -> (Int, (@Sendable () -> Void)?) in
            items.append(item)
            if waitingForItems || items.count >= wakeAtCount { signalArrival() }
            return (taken + items.count, takeArmedWake())
        }
        armed?()
        return position
    }

    /// Wakes the waiting thread without items (e.g. to notice a stop request).
    public func wake() {
        let armed = lock.withLock { () -> (@Sendable () -> Void)? in
            woken = true
            lock.signal()
            return takeArmedWake()
        }
        armed?()
    }

    /// For a consumer about to wait for something else as well (its connection's socket):
    /// `action` is called once, on the pushing thread after the handoff's lock is released, by
    /// the next push or `wake()`. Returns `false`, arming nothing, when items already wait:
    /// the consumer should take them instead of waiting. One action at a time; `disarmWake`
    /// after the wait.
    public func armWake(_ action: @escaping @Sendable () -> Void) -> Bool {
        lock.withLock {
            guard items.isEmpty else { return false }
            armedWake = action
            return true
        }
    }

    /// Forgets an armed action that did not fire.
    public func disarmWake() {
        lock.withLock { armedWake = nil }
    }

    /// Wakes the consumer for the items that arrived (under `lock`); a counted pause is woken once.
    private func signalArrival() {
        wakeAtCount = .max
        lock.signal()
    }

    /// The armed action, now disarmed (under `lock`). Nothing is written when none is armed:
    /// every push of a result comes here.
    private func takeArmedWake() -> (@Sendable () -> Void)? {
        guard let action = armedWake else { return nil }
        armedWake = nil
        return action
    }

    /// Takes every item, oldest first, without waiting.
    public func take() -> [Element] {
        takeNumbered().items
    }

    /// Takes every item, oldest first, with the position of the first one (items are numbered
    /// from 0 in push order).
    public func takeNumbered() -> (first: Int, items: [Element]) {
        let (first, items, _) = takeNumbered(max: .max)
        return (first, items)
    }

    /// Takes at most `max` items, oldest first, with the position of the first one; `left` is
    /// how many still wait.
    public func takeNumbered(max: Int) -> (first: Int, items: [Element], left: Int) {
        lock.withLock {
            guard items.count > max else {
                let out = (taken, items, 0)
                taken += items.count
                // Room for as many as were taken, not the capacity they had grown to (up to
                // twice as many): the taken array still holds that storage.
                items = []
                items.reserveCapacity(out.1.count)
                return out
            }
            let out = (taken, Array(items[..<max]))
            taken += max
            items.removeFirst(max)
            return (out.0, out.1, items.count)
        }
    }

    /// A copy of the items still waiting whose position is at least `position`, with the
    /// position of the first one; nothing is taken.
    public func waiting(from position: Int) -> (first: Int, items: [Element]) {
        lock.withLock {
            let start = max(position, taken)
            let offset = start - taken
            guard offset < items.count else { return (start, []) }
            return (start, Array(items[offset...]))
        }
    }

    /// Items waiting now.
    public var count: Int {
        lock.withLock { items.count }
    }

    /// Blocks the calling thread until `wake()` is called or `seconds` pass on the handoff's
    /// clock, however many items arrive meanwhile (a consumer that works in timed batches).
    public func pause(seconds: Double) {
        pause(seconds: seconds, orCount: .max)
    }

    /// Blocks the calling thread until `wake()` is called, `count` items wait, or `seconds`
    /// pass on the handoff's clock (a consumer that works in timed batches of bounded size).
    /// Returns whether `wake()` was called.
    @discardableResult
    public func pause(seconds: Double, orCount count: Int) -> Bool {
        guard seconds > 0 else { return false }
        let deadline = clock.seconds() + seconds
        return lock.withLock {
            wakeAtCount = count
            defer { wakeAtCount = .max }
            while !woken && items.count < count {
                if clock.wait(lock, until: deadline) { break }
            }
            let wasWoken = woken
            woken = false
            return wasWoken
        }
    }

    /// Blocks the calling thread until items arrive, `wake()` is called, or `seconds` pass on
    /// the handoff's clock.
    public func wait(seconds: Double) {
        guard seconds > 0 else { return }
        let deadline = clock.seconds() + seconds
        lock.withLock {
            waitingForItems = true
            defer { waitingForItems = false }
            while items.isEmpty && !woken {
                if clock.wait(lock, until: deadline) { break }
            }
            woken = false
        }
    }
}
