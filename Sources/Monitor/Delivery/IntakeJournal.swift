import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Makes results durable between `send` and the spool while a `SinkWorker` cannot take them in
/// promptly: when the sink is unreachable, or when the worker has been stuck in one blocking
/// call (a connect, an insert to a hung server) for more than `stuckAfter` seconds.
///
/// Its own thread copies such waiting results from the worker's handoff to
/// `<spool directory>/intake.journal` (appended, `fdatasync`ed) every `interval` seconds, so a
/// crash (`kill -9`) loses none of them. The worker, once it has taken journaled results and
/// written them to spool files, releases them (`release(upTo:)`), which shrinks the file. A
/// journal left by a crash is read back by `recover` at the next start. Results may then be
/// delivered twice (same id): delivery is at least once.
public final class IntakeJournal: Sendable {
    private struct State {
        var disconnected = true
        var busySince: Double?
        var stopping = false
        /// Handoff positions below this are in the file (or were taken before journaling).
        var journaledUpTo = 0
        /// Lines in the file, by handoff position.
        var entries: [(position: Int, line: String)] = []
        /// Handoff positions being written to the file now.
        var writing: Range<Int>?
        var releaseUpTo = 0
        var problems: [String] = []
    }

    public let path: String
    /// Seconds one worker call may last before waiting results are journaled.
    public let stuckAfter: Double
    /// Seconds between two looks at the handoff.
    public let interval: Double
    private let state = Locked(State())
    private let thread: DedicatedThread
    /// The worker's clock: `setBusy(since:)` times are read on it.
    private let clock: any ThreadClock

    /// A journal at `path`; `stuckAfter` and `interval` in seconds, `stuckAfter` measured on
    /// `clock` (the worker's).
    public init(
        path: String, stuckAfter: Double = 0.5, interval: Double = 0.02, threadName: String,
        clock: any ThreadClock = MonotonicClock()
    ) {
        self.path = path
        self.stuckAfter = stuckAfter
        self.interval = interval
        self.thread = DedicatedThread(name: threadName)
        self.clock = clock
    }

    /// Reads the results a crashed run left in the journal at `path` (unreadable lines are
    /// skipped and counted in `skipped`).
    public static func recover(path: String) -> (results: [CheckResult], skipped: Int) {
        guard FileSystem.exists(path), let text = try? FileSystem.readText(path) else { return ([], 0) }
        var results: [CheckResult] = []
        var skipped = 0
        for line in text.split(separator: "\n") {
            if let result = try? CheckResult(spoolLine: String(line)) { results.append(result) } else { skipped += 1 }
        }
        return (results, skipped)
    }

    /// Starts watching `inbox` on the journal's thread. Throws once the journal has been stopped.
    public func start(watching inbox: Handoff<CheckResult>) throws(DedicatedThread.Stopped) {
        try thread.submit { [self] in loop(inbox) }
    }

    /// Stops the thread (after a last look) and removes the file if nothing is left in it.
    public func stop() {
        state.withLock { $0.stopping = true }
        thread.stop()
    }

    /// Whether the worker has no usable connection (results are then journaled at once).
    public func setDisconnected(_ value: Bool) {
        state.withLock { $0.disconnected = value }
    }

    /// The worker entered (`since` = now, seconds on the journal's clock) or left (`nil`) a
    /// blocking call.
    public func setBusy(since: Double?) {
        state.withLock { $0.busySince = since }
    }

    /// Whether any handoff position below `position` is in the journal (or being written to it).
    public func holds(below position: Int) -> Bool {
        state.withLock { s in
            (s.entries.first.map { $0.position < position } ?? false) || (s.writing.map { $0.lowerBound < position } ?? false)
        }
    }

    /// The worker made every result below handoff position `position` durable (spool files)
    /// or delivered it: the journal forgets them.
    public func release(upTo position: Int) {
        state.withLock { $0.releaseUpTo = max($0.releaseUpTo, position) }
    }

    /// File problems since the last call, for logging.
    public func takeProblems() -> [String] {
        state.withLock { s in
            defer { s.problems.removeAll() }
            return s.problems
        }
    }

    private func loop(_ inbox: Handoff<CheckResult>) {
        var fileHolds = FileSystem.exists(path)
        while true {
            let (stopping, active, release) = state.withLock { s -> (Bool, Bool, Int) in
                let stuck = s.busySince.map { clock.seconds() - $0 > stuckAfter } ?? false
                return (s.stopping, s.disconnected || stuck, s.releaseUpTo)
            }
            if active {
                // Read and marked as being written under one lock: a worker that takes these
                // items meanwhile then sees `holds(below:)` and releases them once they are in
                // its spool files; otherwise the file would keep them until the next release.
                let (first, items) = state.withLock { s in
                    let waiting = inbox.waiting(from: s.journaledUpTo)
                    if !waiting.items.isEmpty { s.writing = waiting.first..<(waiting.first + waiting.items.count) }
                    return waiting
                }
                if !items.isEmpty {
                    let lines = items.map(\.spoolLine)
                    do {
                        try FileSystem.appendDurably(lines, to: path)
                        fileHolds = true
                        state.withLock { s in
                            for (i, line) in lines.enumerated() { s.entries.append((first + i, line)) }
                            s.journaledUpTo = first + items.count
                            s.writing = nil
                        }
                    } catch {
                        state.withLock { s in
                            s.problems.append("cannot write intake journal: \(error)")
                            s.writing = nil
                        }
                    }
                }
            }
            let rewrite: [String]? = state.withLock { s in
                guard let firstEntry = s.entries.first, firstEntry.position < release else { return nil }
                s.entries.removeAll { $0.position < release }
                return s.entries.map(\.line)
            }
            if let keep = rewrite {
                do {
                    if keep.isEmpty {
                        unlink(path)
                        fileHolds = false
                    } else {
                        try FileSystem.writeAtomically(keep.joined(separator: "\n") + "\n", to: path)
                    }
                } catch {
                    state.withLock { $0.problems.append("cannot rewrite intake journal: \(error)") }
                }
            }
            if stopping {
                // The worker persisted everything before stopping the journal.
                if fileHolds && state.withLock({ $0.entries.isEmpty }) { unlink(path) }
                return
            }
            usleep(UInt32(interval * 1_000_000))
        }
    }
}
