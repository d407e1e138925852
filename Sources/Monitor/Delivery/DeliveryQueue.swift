/// A bounded FIFO between the checks (many producers, never waiting) and one notifier's delivery
/// loop (one consumer, awaiting). When full, the overflow policy drops a result and counts it.
public final class DeliveryQueue: Sendable {
    private struct State {
        var items: [Delivery] = []
        var head = 0
        var waiter: CheckedContinuation<Void, Never>?
        var finished = false
        var dropped = 0
        var enqueued = 0

        var count: Int { items.count - head }

        mutating func popBatch(max: Int) -> [Delivery] {
            let end = min(items.count, head + max)
            let batch = Array(items[head..<end])
            head = end
            if head > 1024 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
            return batch
        }
    }

    /// Maximum results held.
    public let capacity: Int
    /// What to drop when full.
    public let overflow: OverflowPolicy
    private let state = Locked(State())

    public init(capacity: Int, overflow: OverflowPolicy) {
        self.capacity = max(1, capacity)
        self.overflow = overflow
    }

    /// What `push` did.
    public enum PushOutcome: Sendable, Equatable {
        /// Queued.
        case queued
        /// Queued; the queue was full and its oldest result was dropped.
        case queuedDroppingOldest
        /// Not queued: the queue was full (`drop_newest`) or finished.
        case dropped
    }

    /// Adds a result without waiting. When the queue is full a result (the oldest or this one,
    /// per the overflow policy) is dropped; when it is finished, this one.
    @discardableResult
    public func push(_ delivery: Delivery) -> PushOutcome {
        let (accepted, waiter) = state.withLock { s -> (PushOutcome, CheckedContinuation<Void, Never>?) in
            guard !s.finished else {
                s.dropped += 1
                return (.dropped, nil)
            }
            var accepted = PushOutcome.queued
            if s.count >= capacity {
                s.dropped += 1
                if overflow == .dropNewest { return (.dropped, nil) }
                accepted = .queuedDroppingOldest
                s.head += 1
            }
            s.items.append(delivery)
            s.enqueued += 1
            let waiter = s.waiter
            s.waiter = nil
            return (accepted, waiter)
        }
        waiter?.resume()
        return accepted
    }

    /// The next batch of at most `max` results, oldest first; waits while empty. Returns an empty
    /// array once the queue is finished and drained, or when the task is cancelled.
    public func next(max: Int) async -> [Delivery] {
        while true {
            if Task.isCancelled { return [] }
            let batch: [Delivery]? = state.withLock { s in
                if s.count > 0 { return s.popBatch(max: max) }
                return s.finished ? [] : nil
            }
            if let batch { return batch }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { s -> Bool in
                        if s.count > 0 || s.finished || Task.isCancelled { return true }
                        s.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                    defer { s.waiter = nil }
                    return s.waiter
                }
                waiter?.resume()
            }
        }
    }

    /// Stops accepting results; `next` returns what is left, then an empty batch.
    public func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.finished = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// Results waiting now.
    public var count: Int { state.withLock { $0.count } }
    /// Results dropped so far (overflow, or pushed after `finish`).
    public var dropped: Int { state.withLock { $0.dropped } }
    /// Results accepted so far.
    public var enqueued: Int { state.withLock { $0.enqueued } }
}
