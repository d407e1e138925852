#if canImport(Glibc)
import Glibc
#endif

/// Flushes a `SinkWorker`'s spool files to the disk on a thread of its own, so the worker goes
/// on sending while the disk works: an `fdatasync` takes milliseconds, and the worker's thread
/// used to wait for one before each batch it sent (about a fifth of a broker's rate).
///
/// The worker writes each batch to the files itself (a `kill -9` cannot lose it from then on),
/// hands the files and the handoff position after the batch to `flush(_:upTo:)`, and is told
/// through `flushed` once everything up to a position is on the disk — only then are those
/// results reported durable (the intake journal and the intake log let go of them). Flushes
/// group: files handed over while one runs are flushed together in the next. A file that
/// cannot be flushed is tried again (every `retryAfter` seconds, until `stop()`) and holds back
/// every later position until it is: those results stay in the intake journal and log.
final class SpoolFlusher: Sendable {
    private struct State {
        /// Files to flush, with whether each was created (its directory entry needs a flush).
        var files: [String: Bool] = [:]
        /// The handoff position everything before which is in `files` or already flushed.
        var upTo = 0
        /// The highest position reported through `flushed`.
        var reported = 0
        /// Whether a flush job is queued or running on the thread.
        var scheduled = false
        /// After `stop()`: flushes run on the caller's thread, and a failed one is not retried.
        var stopped = false
        var problems: [String] = []
    }

    private let state = Locked(State())
    private let thread: DedicatedThread
    private let retryAfter: Double
    /// Called on the flusher's thread with a handoff position once every result before it is
    /// on the disk (increasing).
    private let flushed: @Sendable (Int) -> Void

    /// A flusher whose thread (named `threadName`) starts with its first flush.
    init(threadName: String, retryAfter: Double = 0.1, flushed: @escaping @Sendable (Int) -> Void) {
        self.thread = DedicatedThread(name: threadName)
        self.retryAfter = retryAfter
        self.flushed = flushed
    }

    /// Flushes `files` (written, not yet flushed), then reports `position`. Never waits for
    /// the disk; after `stop()` it flushes on the caller's thread.
    func flush(_ files: [(path: String, created: Bool)], upTo position: Int) {
        let (schedule, inline) = state.withLock { s -> (Bool, Bool) in
            for file in files { s.files[file.path] = (s.files[file.path] ?? false) || file.created }
            s.upTo = max(s.upTo, position)
            guard !s.stopped else { return (false, true) }
            guard !s.scheduled else { return (false, false) }
            s.scheduled = true
            return (true, false)
        }
        if inline { return drain() }
        guard schedule else { return }
        do {
            try thread.submit { [self] in drain() }
        } catch {
            drain()
        }
    }

    /// File problems since the last call, for logging.
    func takeProblems() -> [String] {
        state.withLock { s in
            defer { s.problems.removeAll() }
            return s.problems
        }
    }

    /// Flushes what was handed over (waiting for the flushes in progress), then ends the thread.
    /// What is handed over later is flushed on the caller's thread. Returns whether everything
    /// handed over is on the disk.
    @discardableResult
    func stop() -> Bool {
        state.withLock { $0.stopped = true }
        thread.stop()
        // Files handed over while the thread was ending and not taken by its last job.
        drain()
        return state.withLock { $0.files.isEmpty }
    }

    private func drain() {
        while true {
            let work = state.withLock { s -> (files: [String: Bool], upTo: Int)? in
                guard !s.files.isEmpty || s.upTo > s.reported else {
                    s.scheduled = false
                    return nil
                }
                defer { s.files.removeAll() }
                return (s.files, s.upTo)
            }
            guard let work else { return }
            var failed: [String: Bool] = [:]
            var problems: [String] = []
            for (path, created) in work.files {
                do {
                    try FileSystem.flush(path, directoryToo: created)
                } catch {
                    failed[path] = created
                    problems.append("cannot flush spool file: \(error)")
                }
            }
            if failed.isEmpty {
                state.withLock { $0.reported = max($0.reported, work.upTo) }
                flushed(work.upTo)
                continue
            }
            let retry = state.withLock { s -> Bool in
                for (path, created) in failed { s.files[path] = (s.files[path] ?? false) || created }
                s.problems.append(contentsOf: problems)
                if s.stopped { s.scheduled = false }
                return !s.stopped
            }
            guard retry else { return }
            usleep(UInt32(retryAfter * 1_000_000))
        }
    }
}
