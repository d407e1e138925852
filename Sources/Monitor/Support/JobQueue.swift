/// The waiting line of a `BlockingPool`: first in, first out, bounded, and a caller may leave it.
///
/// A plain value with no locks or threads, so its rules are tested without either; the pool
/// keeps one under its lock. Callers leave in two ways: they are cancelled or give up at their
/// deadline (`remove`), or their deadline passes while they wait (`next` drops the entry and
/// hands it back so the pool can tell the caller). Either way the job never starts: during a DNS
/// outage a lookup nobody waits for must not take one of the few threads for 30 s.
///
/// Example:
/// ```swift
/// var queue = JobQueue<String>(capacity: 2)
/// guard case .queued(let ticket) = queue.enqueue("a", deadline: now + 2_000_000_000) else { … }
/// queue.remove(ticket)            // the caller was cancelled: "a" will not run
/// let (job, expired) = queue.next(now: now)
/// ```
struct JobQueue<Job> {
    /// Names one waiting job, for `remove`.
    struct Ticket: Hashable, Sendable {
        fileprivate let id: UInt64
    }

    /// What `enqueue` did.
    enum Admission {
        /// The job waits its turn.
        case queued(Ticket)
        /// Refused: `waiting` jobs (the capacity) are ahead already.
        case full(waiting: Int)
    }

    private struct Entry {
        let id: UInt64
        /// `MonotonicClock` nanoseconds after which the job is not worth starting; `nil`: none.
        let deadline: Int64?
        /// `nil` once the caller left.
        var job: Job?
    }

    /// Jobs that may wait at once; more are refused.
    let capacity: Int
    /// In id (so arrival) order. Entries before `head` are gone; a left caller's entry stays as a
    /// hole (`job == nil`) until it reaches the front, so `remove` costs no shifting.
    private var entries: [Entry] = []
    private var head = 0
    private var nextID: UInt64 = 0
    /// Jobs waiting now (holes not counted).
    private(set) var waiting = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a JobQueue needs room for one job")
        self.capacity = capacity
    }

    var isEmpty: Bool { waiting == 0 }

    /// Appends `job` unless `capacity` jobs are waiting already.
    /// - Parameter deadline: `MonotonicClock` nanoseconds; past it the job is dropped unstarted.
    mutating func enqueue(_ job: Job, deadline: Int64?) -> Admission {
        guard waiting < capacity else { return .full(waiting: waiting) }
        nextID += 1
        entries.append(Entry(id: nextID, deadline: deadline, job: job))
        waiting += 1
        return .queued(Ticket(id: nextID))
    }

    /// Takes the job of a caller that left (cancelled, or gave up at its deadline) out of the line,
    /// so it never starts and frees its place at once. Returns it, or `nil` if it already started
    /// or left.
    @discardableResult
    mutating func remove(_ ticket: Ticket) -> Job? {
        // Ids increase along `entries`, so a binary search finds the entry.
        var low = head
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].id < ticket.id { low = middle + 1 } else { high = middle }
        }
        guard low < entries.count, entries[low].id == ticket.id, let job = entries[low].job else { return nil }
        entries[low].job = nil
        waiting -= 1
        compactIfSparse()
        return job
    }

    /// The oldest job whose deadline is after `now`, taken out of the line, and every job ahead of
    /// it whose deadline has passed (`expired`, oldest first), also taken out: their callers must
    /// be told, and the jobs must not run.
    mutating func next(now: Int64) -> (job: Job?, expired: [Job]) {
        var expired: [Job] = []
        while head < entries.count {
            let entry = entries[head]
            head += 1
            guard let job = entry.job else { continue }
            waiting -= 1
            if let deadline = entry.deadline, deadline <= now {
                expired.append(job)
                continue
            }
            compactIfSparse()
            return (job, expired)
        }
        compactIfSparse()
        return (nil, expired)
    }

    /// Drops the consumed front and the holes once they outnumber the waiting jobs, so memory
    /// follows the waiting count; amortised O(1) per job.
    private mutating func compactIfSparse() {
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if entries.count - waiting > max(64, waiting) {
            entries = entries[head...].filter { $0.job != nil }
            head = 0
        }
    }
}
