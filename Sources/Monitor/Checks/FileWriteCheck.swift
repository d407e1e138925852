#if canImport(Glibc)
import Glibc
#endif

/// `filewrite`: writes one line (time and counters) to `file`, `fsync`s it, and reports the
/// write latency; counters `ok`, `fail` and `total` as the original. A failure carries the OS
/// error (missing directory, permission, full disk).
///
/// `open`, `write` and `fsync` block (for seconds on a busy or network disk), so they run on a
/// small shared pool of OS threads, never on Swift's cooperative threads. A run cancelled by the
/// scheduler's deadline returns at once; the stuck write finishes on its thread.
public final class FileWriteCheck: Check {
    /// Two threads: one hung mount stalls one of them, the other keeps serving other files. At
    /// most 256 writes wait for them; each leaves at its deadline without starting.
    private static let pool = BlockingPool(name: "filewrite", threads: 2, capacity: 256)

    /// The options of `filewrite`.
    public static let kind = CheckKind(
        name: "filewrite",
        options: [
            OptionSpec("file", .string, required: true, help: "the file to write (replaced each run)"),
            OptionSpec("timeout", .duration(minimum: 0.001), default: 30, help: "seconds before the run is abandoned"),
        ],
        make: { context in
            FileWriteCheck(file: context.options.string("file") ?? "", timeout: context.options.double("timeout") ?? 30)
        })

    private struct Counters {
        var ok = 0
        var fail = 0
        var total = 0
    }

    public let file: String
    /// Seconds a write (with its `fsync`) may take before the run fails.
    public let timeout: Double
    private let counters = Locked(Counters())

    public init(file: String, timeout: Double = 30) {
        self.file = file
        self.timeout = timeout
    }

    public func run() async -> CheckOutcome {
        let total = counters.withLock { c -> Int in
            c.total += 1
            return c.total
        }
        let (okSoFar, failSoFar) = counters.withLock { ($0.ok, $0.fail) }
        let line = "\(WallClock.iso8601(millis: Int64(WallClock.nowMillis()))) : ok=\(okSoFar + 1) fail=\(failSoFar) total=\(total)\n"
        let file = self.file
        let timeout = self.timeout
        let deadline = MonotonicClock.nanos() + Int64(timeout * 1e9)
        let error: String?
        let latencyNanos: Int64
        do {
            (error, latencyNanos) = try await Self.pool.run(deadline: deadline) { () -> (String?, Int64) in
                let start = MonotonicClock.nanos()
                let error = Self.write(line, to: file)
                return (error, MonotonicClock.nanos() - start)
            }
        } catch let refusal {
            latencyNanos = 0
            switch refusal {
            case .expired: error = "did not finish within \(JSONValue.format(timeout)) s"
            case .cancelled: error = "cancelled"
            case .full(let waiting): error = "not started: \(waiting) writes already waiting; the disk is not answering"
            }
        }
        let latencyMs = Double(latencyNanos) / 1e6
        let c = counters.withLock { c -> Counters in
            if error == nil { c.ok += 1 } else { c.fail += 1 }
            return c
        }
        var measurement: [String: JSONValue] = [
            "ok": .int(c.ok), "fail": .int(c.fail), "total": .int(c.total), "state": .int(error == nil ? 0 : 1),
        ]
        if let error {
            return .failure("Failed to write to \(file): \(error)", measurement)
        }
        measurement["write_ms"] = .double((latencyMs * 1000).rounded() / 1000)
        return .success("Successfully wrote to \(file)", measurement)
    }

    /// Writes and syncs `line`; returns the OS error text, or `nil` on success. Blocks.
    private static func write(_ line: String, to file: String) -> String? {
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
