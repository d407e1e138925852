import Logging
import Testing

@testable import Monitor

/// A spooling notifier as the intake log sees it: it says, when the test tells it to, that what
/// it was given up to an intake number is on disk.
final class DurableFake: DurableNotifier {
    private let handler = Locked<(@Sendable (UInt64) -> Void)?>(nil)

    func send(_ batch: [Delivery]) async throws {}

    func onDurable(_ handler: @escaping @Sendable (UInt64) -> Void) {
        self.handler.withLock { $0 = handler }
    }

    func settle(upTo number: UInt64) {
        handler.withLock { $0 }?(number)
    }
}

@Suite(.blocking) struct IntakeLogTests {
    let logger = Logger(label: "test")

    func channel(_ name: String, _ notifier: any Notifier, report: ReportMode = .always) -> NotifierChannel {
        NotifierChannel(
            config: notifierConfig(name: name, report: report), notifier: notifier,
            policies: PolicyBook(basePolicy: ReportPolicy(mode: report, threshold: 1), file: nil), logger: logger)
    }

    func result(_ n: Int, _ status: Status = .success) -> CheckResult {
        CheckResult(id: "id-\(n)", status: status, check: "sample", label: "l", message: "m\(n)")
    }

    /// The lines of every log file in `directory`, files in name order.
    func loggedIDs(_ directory: String) -> [String] {
        FileSystem.list(directory).filter { $0.hasSuffix(".log") }.sorted().flatMap { name in
            ((try? FileSystem.readText(directory + "/" + name)) ?? "").split(separator: "\n").compactMap {
                IntakeLog.parse($0)?.result.id
            }
        }
    }

    func logFiles(_ directory: String) -> [String] {
        FileSystem.list(directory).filter { $0.hasSuffix(".log") }
    }

    @Test func aResultIsOnDiskBeforeAnyNotifierHasIt() async throws {
        let directory = temporaryDirectory() + "/intake"
        let durable = channel("rabbitmq", DurableFake())
        let console = channel("console", RecordingNotifier())
        let log = IntakeLog(directory: directory, channels: [durable, console], logger: logger)
        log.start()
        var seen: [String] = []
        for n in 0..<60 {
            log.submit(result(n))
            if n % 7 == 0 { try await Task.sleep(for: .milliseconds(1)) }
        }
        // Whenever the console's queue hands out a result, it is already in a log file.
        while seen.count < 60 {
            let batch = await console.queue.next(max: 100)
            let onDisk = Set(loggedIDs(directory))
            for delivery in batch {
                #expect(onDisk.contains(delivery.result.id), "\(delivery.result.id) reached the console before the disk")
                seen.append(delivery.result.id)
            }
        }
        #expect(seen == (0..<60).map { "id-\($0)" })
        let toSink = await durable.queue.next(max: 100)
        #expect(toSink.map(\.result.id) == seen)
        #expect(toSink.map(\.intake) == (1...60).map { UInt64($0) })
        #expect(durable.journaled && !console.journaled)
        await log.stop()
    }

    @Test func filesGoOnlyOnceEveryDurableNotifierSettled() async throws {
        let directory = temporaryDirectory() + "/intake"
        let first = DurableFake()
        let second = DurableFake()
        let channels = [channel("a", first), channel("b", second), channel("console", RecordingNotifier())]
        let log = IntakeLog(directory: directory, channels: channels, logger: logger, segmentLines: 4)
        log.start()
        for n in 0..<10 {
            log.submit(result(n))
            await log.flush()  // one batch per result: files of 4, 4 and 2 lines
        }
        #expect(loggedIDs(directory) == (0..<10).map { "id-\($0)" })
        first.settle(upTo: 10)
        second.settle(upTo: 6)
        // Files of at most 4 lines: results 1–4 are settled by both, so their file goes; the
        // one holding 5–8 waits for `b`.
        #expect(await eventually { loggedIDs(directory).count == 6 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(loggedIDs(directory) == (4..<10).map { "id-\($0)" })
        second.settle(upTo: 10)
        #expect(await eventually { logFiles(directory).isEmpty })
        await log.stop()
    }

    @Test func resultsNoDurableNotifierWantsAreNotWritten() async throws {
        let directory = temporaryDirectory() + "/intake"
        let durable = channel("mongo", DurableFake(), report: .failure)
        let console = channel("console", RecordingNotifier())
        let log = IntakeLog(directory: directory, channels: [durable, console], logger: logger)
        log.start()
        for n in 0..<5 { log.submit(result(n)) }
        log.submit(result(5, .failure))
        await log.flush()
        #expect(console.queue.count == 6)
        #expect(durable.queue.count == 1)
        #expect(loggedIDs(directory) == ["id-5"])
        await log.stop()
        // Never settled: the file stays for the next start.
        #expect(loggedIDs(directory) == ["id-5"])
    }

    @Test func aLogLeftByACrashIsReplayedToTheNotifiersItNamesBeforeNewResults() async throws {
        let directory = temporaryDirectory() + "/intake"
        let crashed = IntakeLog(
            directory: directory,
            channels: [channel("all", DurableFake()), channel("alerts", DurableFake(), report: .failure), channel("console", RecordingNotifier())],
            logger: logger)
        crashed.start()
        for n in 0..<3 { crashed.submit(result(n)) }
        crashed.submit(result(3, .failure))
        await crashed.flush()
        await crashed.stop()  // nothing settled: as after a kill -9
        // A line a crash cut short is skipped.
        try FileSystem.appendDurably(["17\t{\"all\":\"alw"], to: directory + "/" + logFiles(directory)[0])

        // The next start: `alerts` now reports everything.
        let all = channel("all", DurableFake())
        let alerts = channel("alerts", DurableFake(), report: .always)
        let console = channel("console", RecordingNotifier())
        let log = IntakeLog(directory: directory, channels: [all, alerts, console], logger: logger)
        log.start()
        log.submit(result(4))
        await log.flush()
        let toAll = await all.queue.next(max: 100)
        #expect(toAll.map(\.result.id) == ["id-0", "id-1", "id-2", "id-3", "id-4"])
        #expect(toAll.map(\.reason) == [.always, .always, .always, .always, .always])
        // The saved reasons are kept; the policy is not asked again for replayed results.
        let toAlerts = await alerts.queue.next(max: 100)
        #expect(toAlerts.map(\.result.id) == ["id-3", "id-4"])
        #expect(toAlerts.map(\.reason) == [.failure, .always])
        // New numbers follow the replayed ones.
        #expect(toAll.map(\.intake) == [1, 2, 3, 4, 5])
        // Only new results reach a notifier that does not spool.
        #expect(await console.queue.next(max: 100).map(\.result.id) == ["id-4"])
        await log.stop()
    }
}
