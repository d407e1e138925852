import Testing

@testable import Monitor

/// The rules of the blocking pools' waiting line, with no threads and no clock: `now` is a number.
@Suite struct JobQueueTests {
    private func ticket(_ admission: JobQueue<String>.Admission) throws -> JobQueue<String>.Ticket {
        guard case .queued(let ticket) = admission else { return try #require(nil as JobQueue<String>.Ticket?, "not queued: \(admission)") }
        return ticket
    }

    private func drain(_ queue: inout JobQueue<String>, now: Int64 = 0) -> [String] {
        var taken: [String] = []
        while let job = queue.next(now: now).job { taken.append(job) }
        return taken
    }

    @Test func firstInFirstOut() {
        var queue = JobQueue<String>(capacity: 8)
        for name in ["a", "b", "c"] { _ = queue.enqueue(name, deadline: nil) }
        #expect(queue.waiting == 3)
        #expect(drain(&queue) == ["a", "b", "c"])
        #expect(queue.isEmpty)
        #expect(queue.next(now: 0).job == nil)
    }

    @Test func refusesBeyondCapacityAndSaysHowManyWait() throws {
        var queue = JobQueue<String>(capacity: 2)
        _ = queue.enqueue("a", deadline: nil)
        _ = queue.enqueue("b", deadline: nil)
        guard case .full(let waiting) = queue.enqueue("c", deadline: nil) else {
            Issue.record("a third job fit in a queue of two")
            return
        }
        #expect(waiting == 2)
        #expect(queue.waiting == 2)
        // A job taken by a thread frees its place at once.
        #expect(queue.next(now: 0).job == "a")
        _ = try ticket(queue.enqueue("d", deadline: nil))
        #expect(drain(&queue) == ["b", "d"])
    }

    @Test func aCallerThatLeftIsSkippedAndFreesItsPlace() throws {
        var queue = JobQueue<String>(capacity: 2)
        let a = try ticket(queue.enqueue("a", deadline: nil))
        _ = queue.enqueue("b", deadline: nil)
        #expect(queue.remove(a) == "a")
        #expect(queue.waiting == 1)
        _ = try ticket(queue.enqueue("c", deadline: nil))
        #expect(drain(&queue) == ["b", "c"])
    }

    @Test func removingAStartedOrRemovedJobIsHarmless() throws {
        var queue = JobQueue<String>(capacity: 4)
        let a = try ticket(queue.enqueue("a", deadline: nil))
        let b = try ticket(queue.enqueue("b", deadline: nil))
        #expect(queue.next(now: 0).job == "a")
        #expect(queue.remove(a) == nil, "a is running; it cannot be taken back")
        #expect(queue.remove(b) == "b")
        #expect(queue.remove(b) == nil)
        #expect(queue.waiting == 0)
    }

    @Test func expiredJobsAreHandedBackUnstartedInOrder() {
        var queue = JobQueue<String>(capacity: 8)
        _ = queue.enqueue("early", deadline: 100)
        _ = queue.enqueue("none", deadline: nil)
        _ = queue.enqueue("also-early", deadline: 150)
        _ = queue.enqueue("late", deadline: 300)
        // At 200 the first is past its deadline: handed back, not run.
        let first = queue.next(now: 200)
        #expect(first.expired == ["early"])
        #expect(first.job == "none")
        let second = queue.next(now: 200)
        #expect(second.expired == ["also-early"])
        #expect(second.job == "late")
        #expect(queue.isEmpty)
    }

    @Test func aDeadlineAtNowCountsAsPassed() {
        var queue = JobQueue<String>(capacity: 1)
        _ = queue.enqueue("a", deadline: 200)
        let taken = queue.next(now: 200)
        #expect(taken.job == nil && taken.expired == ["a"])
    }

    /// Many arrivals, departures and takes, against an array as the model: order, counts and
    /// refusals agree throughout (this also drives the compaction of holes).
    @Test(.blocking) func agreesWithASimpleModel() {
        var queue = JobQueue<String>(capacity: 50)
        var model: [(ticket: JobQueue<String>.Ticket, job: String)] = []
        var tickets: [JobQueue<String>.Ticket] = []
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        for step in 0..<20_000 {
            switch random(10) {
            case 0..<5:
                let job = "j\(step)"
                switch queue.enqueue(job, deadline: nil) {
                case .queued(let ticket):
                    #expect(model.count < 50)
                    model.append((ticket, job))
                    tickets.append(ticket)
                case .full(let waiting):
                    #expect(model.count == 50 && waiting == 50)
                }
            case 5..<8:
                guard !tickets.isEmpty else { continue }
                let ticket = tickets[random(tickets.count)]
                let removed = queue.remove(ticket)
                let index = model.firstIndex { $0.ticket == ticket }
                #expect(removed == index.map { model[$0].job })
                if let index { model.remove(at: index) }
            default:
                let taken = queue.next(now: 0).job
                #expect(taken == model.first?.job)
                if !model.isEmpty { model.removeFirst() }
            }
            #expect(queue.waiting == model.count)
        }
    }
}
