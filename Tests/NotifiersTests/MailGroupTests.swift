import Monitor
import Testing

@testable import Notifiers

@Suite struct MailGroupTests {
    func delivery(_ label: String) -> Delivery {
        Delivery(result: CheckResult(status: .failure, check: "ping", label: label, message: "down"), reason: .failure)
    }

    @Test func resultsWithinTheWindowGoTogether() {
        var group = MailGroup(window: 60)
        let first = group.add([delivery("a")], now: 100)
        let second = group.add([delivery("b"), delivery("c")], now: 130)
        #expect(first && !second)
        #expect(group.deadline == 160)
        let early = group.takeIfDue(now: 159.9)
        #expect(early == nil)
        let late = group.add([delivery("d")], now: 159.9)
        #expect(!late)
        let due = group.takeIfDue(now: 160)
        #expect(due?.map(\.result.label) == ["a", "b", "c", "d"])
        #expect(group.deadline == nil)
        #expect(group.deliveries.isEmpty)
    }

    @Test func theNextResultOpensANewWindow() {
        var group = MailGroup(window: 10)
        _ = group.add([delivery("a")], now: 0)
        _ = group.takeIfDue(now: 10)
        let opened = group.add([delivery("b")], now: 11)
        #expect(opened)
        #expect(group.deadline == 21)
    }

    @Test func emptyBatchesOpenNothing() {
        var group = MailGroup(window: 10)
        let opened = group.add([], now: 0)
        #expect(!opened)
        #expect(group.deadline == nil)
        let due = group.takeIfDue(now: 100)
        #expect(due == nil)
    }

    @Test func takeAllIgnoresTheDeadline() {
        var group = MailGroup(window: 10)
        _ = group.add([delivery("a"), delivery("b")], now: 0)
        let all = group.takeAll()
        #expect(all.count == 2)
        #expect(group.deadline == nil)
    }
}
