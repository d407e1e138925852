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
        try Self.copy(SinkIntegrationTests.MonitorRestartIntegrationTests.executable, to: executable)
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
        let monitor = try await Self.start(
            executable, ["run", "--config", "\(directory)/config.yml", "--log-level", "debug"], output: output)
        func log() -> String { (try? FileSystem.readText(output)) ?? "" }
        // Its own debug lines say what of its file was resident just before and after each
        // page-out (a sampler here missed the moments when the whole suite ran under load).
        func pageOuts() -> [(phase: String, before: Int, after: Int)] {
            log().split(separator: "\n").filter { $0.contains("startup code paged out") }.map { line in
                func field(_ name: String) -> Substring {
                    guard let start = line.range(of: name + "=")?.upperBound else { return "" }
                    return line[start...].prefix { $0 != " " }
                }
                return (String(field("phase")), Int(field("resident_kb_before")) ?? -1, Int(field("resident_kb_after")) ?? -1)
            }
        }
        let released = await SinkTest.waitUntil(30) { pageOuts().count >= 2 }
        #expect(released, "\(log())")
        let printed = SinkIntegrationTests.MonitorRestartIntegrationTests.printedIDs(output).count
        // It runs on: results still come (its running code faulted back in).
        let runsOn = await SinkTest.waitUntil(30) { SinkIntegrationTests.MonitorRestartIntegrationTests.printedIDs(output).count >= printed + 5 }
        monitor.signal(SIGTERM)
        let status = try await SinkTest.blocking.run { monitor.wait() }
        try? FileManager.default.removeItem(atPath: executable)
        #expect(runsOn && status == 0, "\(log())")
        let done = pageOuts()
        #expect(done.map(\.phase) == ["config", "services"], "\(done)")
        // Once the config is read (the code that read it, and all the starting before it) and
        // once the services run (their start, the first runs): most of it given back each time.
        for (phase, before, after) in done {
            #expect(before > 1024 && after >= 0 && after < before / 2, "\(phase): resident of its file \(before) kB before, \(after) kB after")
        }
    }

    /// Copies `source` to `target` (executable, on disk) through a descriptor no child process keeps:
    /// close-on-exec, so a test server another test spawns meanwhile does not hold it open for
    /// writing (the copy could then not be run: "Text file busy").
    static func copy(_ source: String, to target: String) throws {
        let from = open(source, O_RDONLY | O_CLOEXEC)
        let to = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        defer {
            if from >= 0 { close(from) }
            if to >= 0 { close(to) }
        }
        struct CopyError: Error { var description: String }
        guard from >= 0, to >= 0 else { throw CopyError(description: "cannot open \(source) or \(target): errno \(errno)") }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) }
            // Written back before it runs: the kernel pages out clean pages only (a dirty page
            // of the fresh copy is written first and stays resident).
            if count == 0 { return _ = fsync(to) }
            let written = buffer.withUnsafeBytes { write(to, $0.baseAddress, count) }
            guard count > 0, written == count else { throw CopyError(description: "cannot copy \(source): errno \(errno)") }
        }
    }

    /// Starts the copy; tried again while a child that another test spawned in the instant of
    /// the copy still holds it (until that child's exec closes it).
    static func start(_ executable: String, _ arguments: [String], output: String) async throws -> ChildProcess {
        for _ in 0..<50 {
            do {
                return try ChildProcess(executable, arguments, output: output, errorsToOutput: true)
            } catch let error as ChildProcess.SpawnError where error.description.contains("Text file busy") {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        return try ChildProcess(executable, arguments, output: output, errorsToOutput: true)
    }
}
