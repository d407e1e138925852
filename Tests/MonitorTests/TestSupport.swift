import Foundation
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh temporary directory for one test.
/// CPU seconds the calling thread spent running `body` (`CLOCK_THREAD_CPUTIME_ID`): unlike the
/// wall clock, not stretched by other tests holding the cores.
func threadCPUSeconds(_ body: () -> Void) -> Double {
    func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    let start = now()
    body()
    return now() - start
}

func temporaryDirectory() -> String {
    var template = Array((NSTemporaryDirectory() + "hm-test-XXXXXX").utf8CString)
    let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: path!)
}

/// Writes `text` to `name` inside `directory`, returning the path.
@discardableResult
func writeFile(_ directory: String, _ name: String, _ text: String) throws -> String {
    let path = directory + "/" + name
    try FileSystem.writeAtomically(text, to: path)
    return path
}

/// A check type with a few typed options, standing in for real types in config tests.
let sampleCheckKind = CheckKind(
    name: "sample",
    options: [
        OptionSpec("host", .string, required: true),
        OptionSpec("port", .integer(1...65535), default: 80),
        OptionSpec("timeout", .duration(minimum: 0.001), default: 30),
        OptionSpec("verify", .boolean, default: true),
        OptionSpec("headers", .stringMap),
        OptionSpec("password", .string),
    ],
    make: { _ in FixedCheck(outcome: .success("ok")) })

/// A notifier type with one option, for config tests.
let sampleNotifierKind = NotifierKind(
    name: "sink",
    options: [OptionSpec("webhook", .string, required: true)],
    make: { _ in RecordingNotifier() })

/// A check that always returns the same outcome, after an optional delay.
struct FixedCheck: Check {
    var outcome: CheckOutcome
    var delay: Duration = .zero

    func run() async -> CheckOutcome {
        if delay > .zero { try? await Task.sleep(for: delay) }
        return outcome
    }
}

/// A loader knowing the built-in checks, the sample types and the console notifier's name.
func makeLoader(_ environment: [String: String] = [:]) -> ConfigLoader {
    let console = NotifierKind(name: "console", options: [OptionSpec("format", .choice(["text", "json"]), default: "text")], make: { _ in RecordingNotifier() })
    return ConfigLoader(checkKinds: CheckKinds.all + [sampleCheckKind], notifierKinds: [sampleNotifierKind, console], environment: environment)
}

/// Loads inline YAML as file `name`.
func load(_ yaml: String, name: String = "config.yml", environment: [String: String] = [:]) throws(ConfigError) -> MonitorConfig {
    try makeLoader(environment).load([ConfigSource(section: .whole, name: name, text: yaml)])
}

/// The diagnostics of a config that must fail to load.
func errors(_ yaml: String, environment: [String: String] = [:]) -> [ConfigDiagnostic] {
    do {
        _ = try load(yaml, environment: environment)
        Issue.record("config loaded but should have failed")
        return []
    } catch {
        return error.diagnostics
    }
}

/// Runs each test of a suite (or one test) on an OS thread of its own instead of a cooperative
/// thread. For tests that block (files written with `fsync`, spool compaction) and for long
/// synchronous loops (20 000 steps take seconds under ThreadSanitizer): on two cores, two such
/// tests on the cooperative pool stall every other test of the run for seconds.
struct BlockingTrait: TestTrait, SuiteTrait, TestScoping {
    var isRecursive: Bool { true }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self  // one thread per test case, not one more around the suite
    }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let thread = DedicatedThread(name: "test-blocking")
        defer { thread.stop() }
        try await withTaskExecutorPreference(thread) { try await function() }
    }
}

extension Trait where Self == BlockingTrait {
    /// The test blocks its thread (file I/O with `fsync`, a long synchronous loop): run it off
    /// the cooperative pool.
    static var blocking: Self { BlockingTrait() }
}

/// A host on this machine that never answers ICMP echo (`scripts/silent-host.sh up`: a network
/// namespace that ignores echo requests, behind a veth pair), so no test packet leaves the machine.
enum SilentHost {
    static let address = "169.254.77.2"

    /// Whether the silent host is set up (its veth end exists).
    static var isUp: Bool { FileSystem.exists("/sys/class/net/hm-silent0") }

    /// Throws (a failure, never a packet to another host) when the silent host is missing; under
    /// `make test` (HM_SERVICES=1) the test then fails instead of being skipped.
    static func require() throws {
        guard isUp else { throw Missing() }
    }

    struct Missing: Error, CustomStringConvertible {
        var description: String { "the silent host is not set up: run `scripts/silent-host.sh up` (root), as `make test` does" }
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only when the silent host is up (always under `make test`, where a missing
    /// one fails the test); elsewhere it is skipped with how to set it up.
    static var silentHost: Self {
        .enabled(
            if: SilentHost.isUp || getenv("HM_SERVICES").map { String(cString: $0) } == "1",
            "needs the silent host: run `scripts/silent-host.sh up` (root)")
    }
}
