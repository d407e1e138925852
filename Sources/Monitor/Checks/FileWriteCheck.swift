#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// `filewrite`: writes one line (time and counters) to `file`, `fsync`s it, and reports the
/// write latency; counters `ok`, `fail` and `total` as the original. A failure carries the OS
/// error (missing directory, permission, full disk).
public final class FileWriteCheck: Check {
    /// The options of `filewrite`.
    public static let kind = CheckKind(
        name: "filewrite",
        options: [
            OptionSpec("file", .string, required: true, help: "the file to write (replaced each run)"),
            OptionSpec("timeout", .duration(minimum: 0.001), default: 30, help: "seconds before the run is abandoned"),
        ],
        make: { context in FileWriteCheck(file: context.options.string("file") ?? "") })

    private struct Counters {
        var ok = 0
        var fail = 0
        var total = 0
    }

    public let file: String
    private let counters = Mutex(Counters())

    public init(file: String) {
        self.file = file
    }

    public func run() async -> CheckOutcome {
        let total = counters.withLock { c -> Int in
            c.total += 1
            return c.total
        }
        let okSoFar = counters.withLock { $0.ok }
        let line = "\(WallClock.iso8601(millis: Int64(WallClock.nowMillis()))) : ok=\(okSoFar + 1) total=\(total)\n"
        let start = ContinuousClock.now
        let error = write(line)
        let latency = start.duration(to: .now).components
        let latencyMs = Double(latency.seconds) * 1000 + Double(latency.attoseconds) * 1e-15
        let c = counters.withLock { c -> Counters in
            if error == nil { c.ok += 1 } else { c.fail += 1 }
            return c
        }
        var measurement: [String: JSONValue] = [
            "ok": .int(c.ok), "fail": .int(c.fail), "total": .int(c.total),
        ]
        if let error {
            return .failure("Failed to write to \(file): \(error)", measurement)
        }
        measurement["write_ms"] = .double((latencyMs * 1000).rounded() / 1000)
        return .success("Successfully wrote to \(file)", measurement)
    }

    /// Writes and syncs `line`; returns the OS error text, or `nil` on success.
    private func write(_ line: String) -> String? {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "open: " + String(cString: strerror(errno)) }
        defer { close(fd) }
        var bytes = Array(line.utf8)
        let written = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if written < 0 { return "write: " + String(cString: strerror(errno)) }
        if written < bytes.count { return "write: short write (\(written) of \(bytes.count) bytes)" }
        if fsync(fd) != 0 { return "fsync: " + String(cString: strerror(errno)) }
        bytes.removeAll()
        return nil
    }
}
