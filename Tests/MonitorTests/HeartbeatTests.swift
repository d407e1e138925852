import Logging
import Testing

@testable import Monitor

@Suite(.blocking) struct HeartbeatTests {
    /// Writes a heartbeat as the monitor would, `routed` results after start.
    func heartbeat(checks: Int, longestSleep: Double, lastResultMillis: Int64?, startedMillis: Int64, writtenMillis: Int64) throws -> String {
        let directory = temporaryDirectory()
        var beat: [String: JSONValue] = [
            "time_ms": .int(Int(writtenMillis)), "results": .int(lastResultMillis == nil ? 0 : 7), "started_ms": .int(Int(startedMillis)),
            "checks": .int(checks), "longest_sleep": .double(longestSleep),
        ]
        if let lastResultMillis { beat["last_result_ms"] = .int(Int(lastResultMillis)) }
        try FileSystem.writeAtomically(JSONValue.object(beat).json(), to: directory + "/" + Heartbeat.fileName)
        return directory
    }

    /// A live process whose scheduler is wedged: the heartbeat is fresh, but no result came for
    /// longer than 2 × the longest sleep + 30 s (here 2 × 60 + 30 = 150 s).
    @Test func aFreshHeartbeatWithoutResultsIsUnhealthy() throws {
        let now: Int64 = 1_800_000_000_000
        let stuck = try heartbeat(checks: 3, longestSleep: 60, lastResultMillis: now - 155_000, startedMillis: now - 3_600_000, writtenMillis: now - 2_000)
        let (healthy, summary) = Heartbeat.check(stateDirectory: stuck, maxAge: 60, nowMillis: now)
        #expect(!healthy)
        #expect(summary.contains("no result for 153 s with 3 checks configured"), "\(summary)")

        let fine = try heartbeat(checks: 3, longestSleep: 60, lastResultMillis: now - 140_000, startedMillis: now - 3_600_000, writtenMillis: now - 2_000)
        #expect(Heartbeat.check(stateDirectory: fine, maxAge: 60, nowMillis: now).healthy)
    }

    /// With no result yet, the time counts from the start.
    @Test func noResultSinceTheStartCountsFromTheStart() throws {
        let now: Int64 = 1_800_000_000_000
        let young = try heartbeat(checks: 1, longestSleep: 10, lastResultMillis: nil, startedMillis: now - 20_000, writtenMillis: now)
        #expect(Heartbeat.check(stateDirectory: young, maxAge: 60, nowMillis: now).healthy)
        let wedged = try heartbeat(checks: 1, longestSleep: 10, lastResultMillis: nil, startedMillis: now - 60_000, writtenMillis: now)
        #expect(!Heartbeat.check(stateDirectory: wedged, maxAge: 60, nowMillis: now).healthy)
    }

    /// No checks configured: silence is expected.
    @Test func withoutChecksSilenceIsHealthy() throws {
        let now: Int64 = 1_800_000_000_000
        let idle = try heartbeat(checks: 0, longestSleep: 0, lastResultMillis: nil, startedMillis: now - 3_600_000, writtenMillis: now)
        #expect(Heartbeat.check(stateDirectory: idle, maxAge: 60, nowMillis: now).healthy)
    }

    /// What the running monitor writes carries what `check` needs.
    @Test func theWrittenHeartbeatNamesChecksAndLongestSleep() async throws {
        let directory = temporaryDirectory()
        let router = ResultRouter(channels: [], logger: Logger(label: "test"))
        let beat = Heartbeat(stateDirectory: directory, router: router, checks: 4, longestSleep: 600, logger: Logger(label: "test"))
        beat.write()
        let text = try FileSystem.readText(directory + "/" + Heartbeat.fileName)
        let object = try #require(try JSONValue.parse(text).objectValue)
        #expect(object["checks"] == 4)
        #expect(object["longest_sleep"] == 600.0)
        #expect(object["started_ms"]?.intValue != nil)
        #expect(object["last_result_ms"] == .null)
        #expect(Heartbeat.check(stateDirectory: directory, maxAge: 60).healthy)
    }

    /// The wedge itself: a scheduler whose every check never returns (hard timeout disabled)
    /// in a live process. The heartbeat keeps being written, yet `health` fails once no result
    /// came for 2 × the longest sleep + 30 s; a scheduler whose check returns stays healthy.
    @Test func aSchedulerWhoseChecksNeverReturnFailsHealth() async throws {
        func monitor(_ delay: Duration) -> (Scheduler<ContinuousClock>, Heartbeat, String) {
            let directory = temporaryDirectory()
            let router = ResultRouter(channels: [], logger: Logger(label: "test"))
            var scheduled = ScheduledCheck(
                config: checkConfig("wedge", sleep: 1),
                check: FixedCheck(outcome: .success("ok"), delay: delay))
            scheduled.hardTimeout = 1e8  // the test hook: no hard timeout rescues the run
            let scheduler = Scheduler(checks: [scheduled], router: router, host: "h", clock: ContinuousClock(), logger: Logger(label: "test"))
            let beat = Heartbeat(stateDirectory: directory, router: router, checks: 1, longestSleep: 1, logger: Logger(label: "test"))
            return (scheduler, beat, directory)
        }
        let (wedged, wedgedBeat, wedgedDirectory) = monitor(.seconds(3600))
        let (working, workingBeat, workingDirectory) = monitor(.zero)
        let runs = [Task { try await wedged.run() }, Task { try await working.run() }]
        defer { for run in runs { run.cancel() } }
        #expect(await eventually { working.router.resultCount >= 1 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(wedged.router.resultCount == 0, "the wedged check never returned")
        let now = Int64(WallClock.nowMillis())
        wedgedBeat.write(nowMillis: now)
        #expect(Heartbeat.check(stateDirectory: wedgedDirectory, maxAge: 60, nowMillis: now).healthy, "young enough")
        // The heartbeat task goes on in the live process: its write 33 s on finds no result for
        // more than 2 × 1 + 30 = 32 s.
        wedgedBeat.write(nowMillis: now + 33_000)
        workingBeat.write(nowMillis: now + 1_000)
        let later = Heartbeat.check(stateDirectory: wedgedDirectory, maxAge: 60, nowMillis: now + 33_000)
        #expect(!later.healthy)
        #expect(later.summary.contains("with 1 checks configured"), "\(later.summary)")
        #expect(Heartbeat.check(stateDirectory: workingDirectory, maxAge: 60, nowMillis: now + 1_000).healthy)
    }
}
