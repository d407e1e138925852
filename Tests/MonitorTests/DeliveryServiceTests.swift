import Logging
import Monitor
import ServiceLifecycle
import Testing

/// Routes `count` results, then returns (triggering graceful shutdown of its group).
struct Producer: Service {
    var router: ResultRouter
    var count: Int
    var status: Status = .failure

    func run() async throws {
        for n in 0..<count {
            router.route(CheckResult(id: String(format: "%04d", n), status: status, check: "sample", label: "x", message: "\(n)"))
        }
    }
}

private func channel(_ notifier: RecordingNotifier, name: String, queueSize: Int = 10000, retries: Int = 0, batchSize: Int = 100) -> NotifierChannel {
    NotifierChannel(
        config: notifierConfig(name: name, report: .always, queueSize: queueSize, retries: retries, batchSize: batchSize),
        notifier: notifier, policies: PolicyBook(basePolicy: ReportPolicy(mode: .always, threshold: 1), file: nil),
        logger: Logger(label: "test"))
}

/// Runs the notifiers as `healthmonitor run` does (one `DeliveryGroup`) until `producer` is done.
private func runGroup(_ delivery: [DeliveryService], producer: Producer) async throws {
    let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: DeliveryGroup(services: delivery)),
        .init(service: producer, successTerminationBehavior: .gracefullyShutdownGroup),
    ]
    let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: Logger(label: "test")))
    try await group.run()
}

@Suite struct DeliveryServiceTests {
    /// A stuck notifier fills its own queue (overflow counted) while the other gets everything,
    /// routing never waits, and shutdown ends by the deadline.
    @Test func aStuckNotifierBlocksNoOne() async throws {
        let stuck = RecordingNotifier(.hang)
        let healthy = RecordingNotifier()
        let stuckChannel = channel(stuck, name: "stuck", queueSize: 10)
        let healthyChannel = channel(healthy, name: "healthy")
        let router = ResultRouter(channels: [stuckChannel, healthyChannel], logger: Logger(label: "test"))

        // The stuck notifier's send never returns until cancelled, so routing that waited for it
        // would never finish: that the 1,000 routes return at all shows routing never waits.
        for n in 0..<1000 { router.route(CheckResult(status: .failure, check: "sample", label: "x", message: "\(n)")) }

        try await runGroup(
            [DeliveryService(channel: stuckChannel, shutdownTimeout: 0.3), DeliveryService(channel: healthyChannel, shutdownTimeout: 0.3)],
            producer: Producer(router: router, count: 0))

        #expect(healthy.deliveries.map(\.result.message) == (0..<1000).map(String.init))
        #expect(healthyChannel.stats.delivered == 1000)
        #expect(stuckChannel.stats.overflowed == 990)
        #expect(stuckChannel.stats.delivered == 0)
        #expect(stuck.shutdownCalls == 1)
        #expect(healthy.shutdownCalls == 1)
    }

    /// Graceful shutdown delivers everything queued before the notifier is shut down.
    @Test func shutdownFlushesTheQueue() async throws {
        let slow = RecordingNotifier(.slow(.milliseconds(5)))
        let ch = channel(slow, name: "slow", batchSize: 10)
        let router = ResultRouter(channels: [ch], logger: Logger(label: "test"))
        try await runGroup([DeliveryService(channel: ch, shutdownTimeout: 10)], producer: Producer(router: router, count: 500))
        #expect(slow.deliveries.count == 500)
        #expect(slow.deliveries.map(\.result.id) == (0..<500).map { String(format: "%04d", $0) })
        #expect(slow.sendCalls == 50)
        #expect(slow.shutdownCalls == 1)
        #expect(ch.stats.failed == 0)
    }

    /// Failed batches are retried, then counted as failed.
    @Test func failuresAreRetriedThenCounted() async throws {
        let failing = RecordingNotifier(.fail)
        let ch = channel(failing, name: "failing", retries: 2)
        let router = ResultRouter(channels: [ch], logger: Logger(label: "test"))
        try await runGroup([DeliveryService(channel: ch, shutdownTimeout: 10, retryDelay: 0.01)], producer: Producer(router: router, count: 3))
        #expect(failing.sendCalls >= 3)
        #expect(ch.stats.failed == 3)
        #expect(ch.stats.delivered == 0)
    }

    /// An alert that opens is saved at once, not at the next periodic save (an hour away here),
    /// and the save happens off the cooperative threads.
    @Test func anAlertTransitionIsSavedWithoutWaitingForThePeriod() async throws {
        let file = temporaryDirectory() + "/alerts.json"
        let notifier = RecordingNotifier()
        let ch = NotifierChannel(
            config: notifierConfig(report: .failure, threshold: 1), notifier: notifier,
            policies: PolicyBook(basePolicy: ReportPolicy(mode: .failure, threshold: 1), file: file), logger: Logger(label: "test"))
        let service = DeliveryService(channel: ch, shutdownTimeout: 1, stateSaveInterval: 3600)
        let running = Task { try await service.run() }
        defer { running.cancel() }
        ch.offer(CheckResult(status: .failure, check: "sample", label: "x", message: "down"))
        #expect(await eventually(within: 30) { ((try? FileSystem.readText(file)) ?? "").contains("\"openAlert\":true") })
        #expect(await eventually { notifier.deliveries.count == 1 })
    }

    /// Only what the policy selects reaches the queue.
    @Test func policySelectsWhatIsQueued() async {
        let notifier = RecordingNotifier()
        let ch = NotifierChannel(
            config: notifierConfig(report: .failure, threshold: 2), notifier: notifier,
            policies: PolicyBook(basePolicy: ReportPolicy(mode: .failure, threshold: 2), file: nil), logger: Logger(label: "test"))
        for status in [Status.failure, .failure, .failure, .success, .failure, .failure] {
            ch.offer(CheckResult(status: status, check: "sample", label: "x", message: ""))
        }
        let queued = await ch.queue.next(max: 10)
        #expect(queued.map(\.reason) == [.failure, .failure])
    }
}

import Foundation

extension RealTimeTests {
    @Suite struct DeliveryShutdownTimingTests {
        /// Seven notifiers that never finish a send: the stop takes one `shutdown_timeout`, not
        /// seven, and each is shut down once with its queued result counted as failed.
        @Test func everyNotifierDrainsAtOnceWithinOneDeadline() async throws {
            let notifiers = (0..<7).map { _ in RecordingNotifier(.hang) }
            let channels = notifiers.enumerated().map { channel($1, name: "stuck\($0)") }
            let router = ResultRouter(channels: channels, logger: Logger(label: "test"))
            let start = ContinuousClock.now
            try await runGroup(
                channels.map { DeliveryService(channel: $0, shutdownTimeout: 1) }, producer: Producer(router: router, count: 2))
            let elapsed = start.duration(to: .now)
            // Never before the deadline; far below the 7 s that draining one after another takes.
            #expect(elapsed >= .seconds(1) && elapsed < .seconds(5), "took \(elapsed)")
            for (notifier, ch) in zip(notifiers, channels) {
                #expect(notifier.shutdownCalls == 1)
                #expect(ch.stats.failed == 2)
                #expect(ch.stats.delivered == 0)
            }
        }
    }
}
