import Foundation
import Logging
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Helpers shared by the sink integration tests: contexts, a result producer, the oracle,
/// polling, control of the shared servers through the project's services script, and a log
/// recorder.
enum SinkTest {
    /// Blocking work (processes, the AMQP consumer) runs here, never on the cooperative pool.
    static let blocking = DedicatedThread(name: "sink-tests")

    /// A fresh, unique name part, e.g. for queues and databases.
    static func unique() -> String { String(ResultID.next().suffix(12)) }

    /// A new empty directory under the temporary directory (`TMPDIR`, else /tmp).
    static func directory(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "hm-it-\(name)-\(unique())"
        try FileSystem.makeDirectories(path)
        return path
    }

    static func context(
        _ kind: NotifierKind, _ overrides: [String: JSONValue], stateDirectory: String, logger: Logger = Logger(label: "it")
    ) -> NotifierContext {
        var values: [String: JSONValue] = [:]
        for spec in kind.options { if let d = spec.defaultValue { values[spec.name] = d } }
        for (k, v) in overrides { values[k] = v }
        return NotifierContext(
            name: kind.name, options: Options(values, path: "notifiers.\(kind.name)"), logger: logger, stateDirectory: stateDirectory)
    }

    /// A result whose measurement has every JSON type.
    static func result(_ n: Int, label: String = "it") -> CheckResult {
        CheckResult(
            status: n % 3 == 0 ? .failure : .success, check: "random", label: label, message: "result \(n)",
            measurement: ["n": .int(n), "value": .double(Double(n) / 8), "ok": .bool(n % 3 != 0), "tag": .string("t\(n)")],
            elapsed: 0.001, config: ["sleep": 1.0, "password": "********"], host: "it-host")
    }

    /// Waits until `condition` holds, polling every 50 ms, for at most `seconds`.
    static func waitUntil(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
        let deadline = MonotonicClock().seconds() + seconds
        while MonotonicClock().seconds() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    /// Runs the project's services script (`HM_SERVICES_SCRIPT`) with `arguments`; returns its
    /// standard output. Throws when it exits non-zero.
    @discardableResult
    static func services(_ arguments: String...) async throws -> String {
        let script = try TestServers.value("HM_SERVICES_SCRIPT")
        return try await run(script, arguments)
    }

    struct ScriptError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    static func run(_ executable: String, _ arguments: [String]) async throws -> String {
        try await blocking.run {
            // Output goes to a file, not a pipe: a server the script starts inherits the
            // descriptor and would keep a pipe open forever.
            let file = NSTemporaryDirectory() + "hm-it-run-\(SinkTest.unique()).out"
            defer { unlink(file) }
            let child = try ChildProcess(executable, arguments, output: file)
            let status = child.wait()
            let text = (try? FileSystem.readText(file)) ?? ""
            guard status == 0 else {
                throw ScriptError(message: "\(executable) \(arguments.joined(separator: " ")) exited \(status): \(text)")
            }
            return text
        }
    }

    /// Sends results to a notifier every `interval` seconds in the background, remembering the
    /// ids in order, and the longest time one `send` took.
    final class Producer: Sendable {
        private struct State {
            var ids: [String] = []
            var slowestSend = 0.0
            var stop = false
        }
        private final class Shared: Sendable {
            let mutex = Locked(State())
        }
        private let shared = Shared()
        private let task: Task<Void, Never>

        init(_ notifier: any Notifier, interval: Double, label: String = "it") {
            let shared = self.shared
            task = Task {
                let state = shared
                var n = 0
                while !state.mutex.withLock({ $0.stop }) {
                    n += 1
                    let result = SinkTest.result(n, label: label)
                    let start = MonotonicClock().seconds()
                    try? await notifier.send([Delivery(result: result, reason: .always)])
                    let took = MonotonicClock().seconds() - start
                    state.mutex.withLock {
                        $0.ids.append(result.id)
                        $0.slowestSend = max($0.slowestSend, took)
                    }
                    try? await Task.sleep(for: .seconds(interval))
                }
            }
        }

        /// Stops producing; returns the ids produced, in order.
        func stop() async -> [String] {
            shared.mutex.withLock { $0.stop = true }
            await task.value
            return ids
        }

        var ids: [String] { shared.mutex.withLock { $0.ids } }
        var count: Int { shared.mutex.withLock { $0.ids.count } }
        /// Seconds of the slowest `send`: checks must never wait for a sink.
        var slowestSend: Double { shared.mutex.withLock { $0.slowestSend } }
    }

    /// The oracle: ids produced against ids the sink holds.
    struct Oracle: CustomStringConvertible {
        var produced: Int
        var consumed: Int
        var missing: [String]
        var duplicates: Int
        /// Whether the first arrival of each id follows the production order.
        var inOrder: Bool

        init(produced: [String], consumed: [String]) {
            self.produced = produced.count
            self.consumed = consumed.count
            let got = Set(consumed)
            missing = produced.filter { !got.contains($0) }
            duplicates = consumed.count - got.count
            var seen: Set<String> = []
            let firsts = consumed.filter { seen.insert($0).inserted }
            let wanted = Set(produced)
            inOrder = firsts.filter { wanted.contains($0) } == produced.filter { got.contains($0) }
        }

        var description: String {
            "produced \(produced), consumed \(consumed), missing \(missing.count), duplicates \(duplicates), in order \(inOrder)"
        }
    }
}
