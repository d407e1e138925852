import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The write-ahead log between the checks and the notifiers: a result that a spooling notifier
/// (RabbitMQ, MongoDB) is to receive is on disk before *any* notifier sees it, so a `kill -9`
/// never loses a result that another notifier (the console) already showed.
///
/// `route` hands results to `submit`, which never waits. The log's own thread takes them in
/// batches, applies every notifier's report policy, appends one line per result that a durable
/// notifier wants to `<state>/intake/<first sequence number>.log` (`fdatasync`ed: one sync per
/// batch, however many results it holds), and only then queues the deliveries. Results no
/// durable notifier wants are queued without a write.
///
/// A log file is removed once every durable notifier reported (`NotifierChannel.settle`) that
/// it holds every result of the file on disk in its own spool, or confirmed by the sink. A
/// file left by a crash is replayed at the next start, to the notifiers it names, before
/// anything new: delivery is at least once (a result may arrive twice, same id).
///
/// Line format: `<seq>\t<{"notifier":"reason",…}>\t<result as JSON>`; JSON text never contains
/// a raw tab.
public final class IntakeLog: @unchecked Sendable {
    // @unchecked: `segments`, `nextSeq` and `lastDispatched` are touched only by `loop` on
    // `thread`; shared state is the handoff, `stopping`, `submitted` and `dispatched`.

    private struct Segment {
        var first: UInt64
        var last: UInt64
        var lines: Int
    }

    public let directory: String
    /// Lines in one file before the next file starts (smaller files are removed sooner).
    public let segmentLines: Int
    private let channels: [NotifierChannel]
    private let durableByName: [String: NotifierChannel]
    private let logger: Logger
    private let inbox: Handoff<Submitted>
    private let thread: DedicatedThread
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let submitted = Atomic<Int>(0)
    private let dispatched = Atomic<Int>(0)
    private let clock: any ThreadClock

    private var segments: [Segment] = []
    private var nextSeq: UInt64 = 1
    private var lastDispatched: UInt64 = 0
    private var lastErrorLog = -Double.infinity

    /// A log in `directory` (created when missing) in front of `channels`.
    public init(
        directory: String, channels: [NotifierChannel], logger: Logger, segmentLines: Int = 1000,
        clock: any ThreadClock = MonotonicClock()
    ) {
        self.directory = directory
        self.channels = channels
        self.durableByName = Dictionary(
            channels.filter(\.isDurable).map { ($0.config.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.logger = logger
        self.segmentLines = max(1, segmentLines)
        self.clock = clock
        self.inbox = Handoff(clock: clock)
        self.thread = DedicatedThread(name: "intake-log")
        for channel in channels where channel.isDurable { channel.journaled = true }
    }

    /// A result waiting for the log's thread, with its key (made once, for every policy).
    private struct Submitted: Sendable {
        var result: CheckResult
        var key: String
    }

    /// Takes a result for the notifiers (`key`: its `key`, when the caller has it made).
    /// Never waits.
    public func submit(_ result: CheckResult, key: String? = nil) {
        submitted.add(1, ordering: .sequentiallyConsistent)
        inbox.push([Submitted(result: result, key: key ?? result.key)])
    }

    /// Starts the log's thread: replays what an earlier run left, then serves `submit`.
    /// Results submitted before wait until then.
    public func start() {
        guard !started.exchange(true, ordering: .sequentiallyConsistent) else { return }
        do {
            try thread.submit { [self] in loop() }
        } catch {
            logger.error("intake log not started; results go to the notifiers without it", metadata: ["error": "\(error)"])
        }
    }

    /// Returns once every result submitted before the call was handed to the notifiers' queues
    /// (or the task is cancelled).
    public func flush() async {
        let target = submitted.load(ordering: .sequentiallyConsistent)
        guard started.load(ordering: .sequentiallyConsistent) else { return }
        while dispatched.load(ordering: .sequentiallyConsistent) < target && !Task.isCancelled {
            inbox.wake()
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Dispatches what is waiting, removes the files every durable notifier is done with, and
    /// ends the thread. Called after the notifiers stopped: what they did not settle stays on
    /// disk for the next start.
    public func stop() async {
        stopping.store(true, ordering: .sequentiallyConsistent)
        inbox.wake()
        if !started.load(ordering: .sequentiallyConsistent) {
            thread.stop()
            return
        }
        _ = await thread.finish(abandonAfter: 1)
    }

    // MARK: The log's thread

    private func loop() {
        recover()
        while true {
            let stop = stopping.load(ordering: .sequentiallyConsistent)
            let batch = inbox.take()
            if !batch.isEmpty { process(batch) }
            release()
            if stop && batch.isEmpty { return }
            if batch.isEmpty { inbox.wait(seconds: 0.2) }
        }
    }

    /// Applies the policies, writes what a durable notifier wants, then queues the deliveries.
    private func process(_ batch: [Submitted]) {
        var lines: [String] = []
        var firstLogged: UInt64?
        var plan: [(result: CheckResult, seq: UInt64, targets: [(NotifierChannel, ReportReason)])] = []
        plan.reserveCapacity(batch.count)
        for entry in batch {
            let result = entry.result
            let seq = nextSeq
            nextSeq += 1
            var targets: [(NotifierChannel, ReportReason)] = []
            var durable: [String: JSONValue] = [:]
            for channel in channels {
                guard let reason = channel.decide(result, key: entry.key) else { continue }
                targets.append((channel, reason))
                if channel.isDurable { durable[channel.config.name] = .string(reason.rawValue) }
            }
            if !durable.isEmpty {
                lines.append("\(seq)\t\(JSONValue.object(durable).json())\t\(result.spoolLine)")
                if firstLogged == nil { firstLogged = seq }
            }
            plan.append((result, seq, targets))
        }
        if let firstLogged { write(lines, first: firstLogged, last: nextSeq - 1) }
        for entry in plan {
            for (channel, reason) in entry.targets {
                channel.enqueue(Delivery(result: entry.result, reason: reason, intake: entry.seq))
            }
        }
        lastDispatched = nextSeq - 1
        dispatched.add(batch.count, ordering: .sequentiallyConsistent)
    }

    private func write(_ lines: [String], first: UInt64, last: UInt64) {
        var target = segments.last
        if target == nil || target!.lines + lines.count > segmentLines {
            target = Segment(first: first, last: last, lines: 0)
            segments.append(target!)
        }
        do {
            try FileSystem.appendDurably(lines, to: path(target!.first))
            segments[segments.count - 1].last = last
            segments[segments.count - 1].lines += lines.count
        } catch {
            if segments[segments.count - 1].lines == 0 { segments.removeLast() }
            // Delivery goes on (the spooling notifiers still spool); a crash now could lose these.
            let now = clock.seconds()
            if now - lastErrorLog >= 60 {
                lastErrorLog = now
                logger.error(
                    "cannot write the intake log; results are delivered, but a crash before they reach a spool loses them",
                    metadata: ["error": "\(error)", "results": "\(lines.count)"])
            }
        }
    }

    /// Removes the files whose every result each durable notifier settled.
    private func release() {
        guard !segments.isEmpty else { return }
        var covered = lastDispatched
        for channel in durableByName.values { covered = min(covered, channel.covered(upTo: lastDispatched)) }
        while let first = segments.first, first.last <= covered {
            unlink(path(first.first))
            segments.removeFirst()
        }
    }

    /// Replays the files an earlier run left, to the durable notifiers each line names.
    private func recover() {
        do {
            try FileSystem.makeDirectories(directory)
        } catch {
            logger.error("cannot create the intake log directory", metadata: ["error": "\(error)"])
            return
        }
        FileSystem.removeStaleTemporaries(in: directory)
        let files = FileSystem.list(directory).compactMap { name -> UInt64? in
            name.hasSuffix(".log") ? UInt64(name.dropLast(4)) : nil
        }.sorted()
        var replayed = 0
        var skipped = 0
        var unknown: [String: Int] = [:]
        for first in files {
            let text: String
            do {
                text = try FileSystem.readText(path(first))
            } catch {
                logger.error("cannot read an intake log file; leaving it aside", metadata: ["error": "\(error)"])
                rename(path(first), path(first) + ".corrupt")
                continue
            }
            var segment = Segment(first: first, last: 0, lines: 0)
            for line in text.split(separator: "\n") {
                guard let entry = Self.parse(line) else {
                    skipped += 1
                    continue
                }
                for (name, reason) in entry.targets {
                    guard let channel = durableByName[name] else {
                        unknown[name, default: 0] += 1
                        continue
                    }
                    channel.enqueue(Delivery(result: entry.result, reason: reason, intake: entry.seq))
                    replayed += 1
                }
                segment.last = max(segment.last, entry.seq)
                segment.lines += 1
                nextSeq = max(nextSeq, entry.seq + 1)
            }
            if segment.lines == 0 {
                unlink(path(first))
            } else {
                segments.append(segment)
            }
        }
        lastDispatched = nextSeq - 1
        if replayed > 0 {
            logger.notice("replaying results from the intake log of an earlier run", metadata: ["deliveries": "\(replayed)"])
        }
        if skipped > 0 {
            logger.error("intake log: skipped unreadable line(s)", metadata: ["lines": "\(skipped)", "directory": "\(directory)"])
        }
        for (name, count) in unknown.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "intake log: results for a notifier no longer configured are not replayed",
                metadata: ["notifier": "\(name)", "results": "\(count)"])
        }
    }

    private func path(_ first: UInt64) -> String {
        let digits = String(first)
        return directory + "/" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// One line of a log file, or `nil` when it cannot be read.
    static func parse(_ line: Substring) -> (seq: UInt64, targets: [(String, ReportReason)], result: CheckResult)? {
        let parts = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let seq = UInt64(parts[0]),
            let object = (try? JSONValue.parse(String(parts[1])))?.objectValue,
            let result = try? CheckResult(spoolLine: String(parts[2]))
        else { return nil }
        var targets: [(String, ReportReason)] = []
        for (name, value) in object {
            guard let reason = value.stringValue.flatMap(ReportReason.init(rawValue:)) else { return nil }
            targets.append((name, reason))
        }
        return (seq, targets.sorted { $0.0 < $1.0 }, result)
    }
}
