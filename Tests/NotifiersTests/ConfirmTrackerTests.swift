import Testing

@testable import Notifiers

@Suite struct ConfirmTrackerTests {
    func tracker(_ n: Int) -> ConfirmTracker {
        var t = ConfirmTracker()
        for i in 1...n { t.published(seq: UInt64(100 + i), id: "id\(i)", at: Double(i)) }
        return t
    }

    @Test func tagsCountFromOneAndMultipleAcksSettleEverythingUpToTheTag() {
        var t = tracker(5)
        #expect(t.lastTag == 5)
        #expect(t.settle(tag: 3, multiple: true).map(\.seq) == [101, 102, 103])
        #expect(t.count == 2)
        #expect(t.oldestSentAt == 4)
    }

    @Test func singleAcksMaySettleOutOfOrderAndRepeatsAreIgnored() {
        var t = tracker(4)
        #expect(t.settle(tag: 3, multiple: false).map(\.seq) == [103])
        #expect(t.settle(tag: 3, multiple: false).isEmpty)
        #expect(t.settle(tag: 9, multiple: false).isEmpty)
        #expect(t.oldestSentAt == 1)
        #expect(t.settle(tag: 4, multiple: true).map(\.seq) == [101, 102, 104])
        #expect(t.count == 0)
        #expect(t.oldestSentAt == nil)
    }

    @Test func aReturnedMessageIsReportedAsReturnedWhenItsAckComes() {
        var t = tracker(3)
        t.returned(id: "id2")
        let settled = t.settle(tag: 3, multiple: true)
        #expect(settled == [.init(seq: 101, returned: false), .init(seq: 102, returned: true), .init(seq: 103, returned: false)])
    }

    @Test func aConfirmIsOverdueOnlyWhenTheOldestUnsettledPublishWaitedLongerThanTheTimeout() {
        var t = tracker(3)  // sent at 1, 2 and 3 s
        #expect(!t.isOverdue(now: 31, timeout: 30))
        #expect(t.isOverdue(now: 31.5, timeout: 30))
        _ = t.settle(tag: 1, multiple: false)
        #expect(!t.isOverdue(now: 31.5, timeout: 30), "the oldest unsettled one was sent at 2 s")
        t.restartClock(at: 40)
        #expect(!t.isOverdue(now: 69, timeout: 30))
        _ = t.settle(tag: 3, multiple: true)
        #expect(!t.isOverdue(now: 1000, timeout: 30), "nothing unsettled")
    }

    @Test func theClockRestartsAfterABlockAndResetForgetsTheChannel() {
        var t = tracker(2)
        t.restartClock(at: 50)
        #expect(t.oldestSentAt == 50)
        t.reset()
        #expect(t.count == 0)
        #expect(t.published(seq: 1, id: "x", at: 0) == 1)
    }
}
