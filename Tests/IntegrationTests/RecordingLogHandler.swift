import Logging
import Monitor

/// A log handler that keeps every line (message and metadata as text), so tests can assert
/// what was logged, and what never was (secrets).
final class LogRecorder: Sendable {
    private let lines = Locked<[String]>([])

    /// A logger writing into this recorder.
    func logger(_ label: String = "test") -> Logger {
        Logger(label: label) { _ in Handler(recorder: self) }
    }

    /// Every line so far: `LEVEL message key=value …`.
    var all: [String] { lines.withLock { $0 } }

    /// Everything logged, as one text.
    var text: String { all.joined(separator: "\n") }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let extra = event.metadata
            let all = metadata.merging(extra ?? [:]) { $1 }
            let pairs = all.keys.sorted().map { "\($0)=\(all[$0]!)" }.joined(separator: " ")
            recorder.append("\(event.level) \(event.message) \(pairs)")
        }
    }
}
