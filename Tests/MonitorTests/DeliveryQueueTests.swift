import Monitor
import Testing

func delivery(_ n: Int, status: Status = .success) -> Delivery {
    Delivery(result: CheckResult(id: "id-\(n)", status: status, check: "sample", label: "l\(n)", message: "\(n)"), reason: .always)
}

@Suite struct DeliveryQueueTests {
    @Test func fifoInBatches() async {
        let queue = DeliveryQueue(capacity: 100, overflow: .dropOldest)
        for n in 0..<25 { #expect(queue.push(delivery(n)) == .queued) }
        #expect(await queue.next(max: 10).map(\.result.id) == (0..<10).map { "id-\($0)" })
        #expect(await queue.next(max: 100).map(\.result.id) == (10..<25).map { "id-\($0)" })
        #expect(queue.count == 0)
    }

    @Test func dropOldestKeepsTheNewest() async {
        let queue = DeliveryQueue(capacity: 3, overflow: .dropOldest)
        let accepted = (0..<5).map { queue.push(delivery($0)) }
        #expect(accepted == [.queued, .queued, .queued, .queuedDroppingOldest, .queuedDroppingOldest])
        #expect(queue.dropped == 2)
        #expect(await queue.next(max: 10).map(\.result.id) == ["id-2", "id-3", "id-4"])
    }

    @Test func dropNewestKeepsTheOldest() async {
        let queue = DeliveryQueue(capacity: 3, overflow: .dropNewest)
        let accepted = (0..<5).map { queue.push(delivery($0)) }
        #expect(accepted == [.queued, .queued, .queued, .dropped, .dropped])
        #expect(queue.dropped == 2)
        #expect(await queue.next(max: 10).map(\.result.id) == ["id-0", "id-1", "id-2"])
    }

    @Test func aWaitingConsumerWakesOnPushAndFinishEndsIt() async {
        let queue = DeliveryQueue(capacity: 10, overflow: .dropOldest)
        async let first = queue.next(max: 10)
        try? await Task.sleep(for: .milliseconds(20))
        queue.push(delivery(1))
        #expect(await first.map(\.result.id) == ["id-1"])
        queue.push(delivery(2))
        queue.finish()
        #expect(await queue.next(max: 10).map(\.result.id) == ["id-2"])
        #expect(await queue.next(max: 10).isEmpty)
        #expect(queue.push(delivery(3)) == .dropped)
    }

    @Test func cancellationEndsAWait() async {
        let queue = DeliveryQueue(capacity: 10, overflow: .dropOldest)
        let task = Task { await queue.next(max: 10) }
        try? await Task.sleep(for: .milliseconds(20))
        task.cancel()
        #expect(await task.value.isEmpty)
    }
}
