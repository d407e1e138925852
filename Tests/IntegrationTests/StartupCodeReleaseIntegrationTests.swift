import Foundation
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built monitor pages out the code it ran to start (`StartupCodeRelease`), and runs on.
@Suite struct StartupCodeReleaseIntegrationTests {
    @Test(
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: SinkIntegrationTests.MonitorRestartIntegrationTests.executable),
            "needs the built monitor: swift build (make test builds it)"))
    func theMonitorGivesBackItsStartupCodeAndRunsOn() async throws {
        let directory = try SinkTest.directory("startup-code")
        // A copy of its own: the kernel leaves alone the pages another process maps too (the
        // monitors other tests run from the same file).
        let executable = directory + "/healthmonitor"
        try FileManager.default.copyItem(atPath: SinkIntegrationTests.MonitorRestartIntegrationTests.executable, toPath: executable)
        let config = """
            settings: {state_dir: \(directory)/state}
            checks:
              random:
                r: {seed: 1, mark: 0.0, sleep: 0.2}
            notifiers:
              console: {format: json, color: never, report: always}
            """
        try FileSystem.writeAtomically(config, to: "\(directory)/config.yml")
        let output = "\(directory)/monitor.log"
        let monitor = try ChildProcess(
            executable, ["run", "--config", "\(directory)/config.yml", "--log-level", "debug"], output: output, errorsToOutput: true)
        func log() -> String { (try? FileSystem.readText(output)) ?? "" }
        // The most of its file resident before the page-out, sampled every 50 ms.
        var before = 0
        let released = await SinkTest.waitUntil(30) {
            if log().contains("startup code paged out") { return true }
            before = max(before, Self.residentKilobytes(pid: monitor.pid, file: executable))
            return false
        }
        #expect(released, "\(log())")
        let printed = SinkIntegrationTests.MonitorRestartIntegrationTests.printedIDs(output).count
        // It runs on: results still come (its running code faulted back in).
        let runsOn = await SinkTest.waitUntil(30) { SinkIntegrationTests.MonitorRestartIntegrationTests.printedIDs(output).count >= printed + 5 }
        let after = Self.residentKilobytes(pid: monitor.pid, file: executable)
        monitor.signal(SIGTERM)
        let status = try await SinkTest.blocking.run { monitor.wait() }
        try? FileManager.default.removeItem(atPath: executable)
        #expect(runsOn && status == 0, "\(log())")
        #expect(before > 4096 && after < before * 3 / 4, "resident of its file: \(before) kB before, \(after) kB after")
    }

    /// Kilobytes of process `pid` resident from mappings of `file` (`/proc/PID/smaps`).
    static func residentKilobytes(pid: pid_t, file: String) -> Int {
        guard let smaps = try? FileSystem.readText("/proc/\(pid)/smaps") else { return 0 }
        var inFile = false
        var total = 0
        for line in smaps.split(separator: "\n") {
            if let first = line.first, first.isHexDigit, line.contains("-") {
                inFile = line.hasSuffix(" " + file)
            } else if inFile && line.hasPrefix("Rss:") {
                total += Int(line.dropFirst(4).trimmingPrefix(while: { $0 == " " }).prefix(while: \.isNumber)) ?? 0
            }
        }
        return total
    }
}
