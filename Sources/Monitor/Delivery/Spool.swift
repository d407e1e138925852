#if canImport(Glibc)
import Glibc
#endif

/// A record a `Spool` can keep: one line of text that reads back into an equal record.
public protocol SpoolRecord: Sendable {
    /// The record's identity (a result id), for logs and de-duplication by consumers.
    var spoolID: String { get }
    /// The record as one line of text, without a newline.
    var spoolLine: String { get }
    /// Reads a record back from `spoolLine`.
    init(spoolLine: String) throws
    /// Reads a record back from `spoolLine`'s UTF-8 bytes; by default through a `String`.
    init(spoolLine bytes: UnsafeBufferPointer<UInt8>) throws
    /// Appends `spoolLine`'s text, as UTF-8, to `out` (a spool writes many records into one
    /// buffer); by default from `spoolLine`.
    func writeSpoolLine(into out: inout [UInt8])
}

extension SpoolRecord {
    public init(spoolLine bytes: UnsafeBufferPointer<UInt8>) throws {
        try self.init(spoolLine: String(decoding: bytes, as: UTF8.self))
    }

    public func writeSpoolLine(into out: inout [UInt8]) {
        out.append(contentsOf: spoolLine.utf8)
    }
}

/// The "no result lost" store of a notifier that talks to a sink which may be away: a FIFO of
/// records that leave only when the sink confirmed them.
///
/// Records live in memory up to `memoryLimit`; beyond that, and whenever the owner asks
/// (`persistAll()`, e.g. when the sink went away or at shutdown, or every append while
/// `writeThrough` is on), they go to segment files in `directory`, which a new `Spool` on the same
/// directory replays first, in order, after a restart.
///
/// The life of a record: `append` → pending → `takeToSend` → sent → `complete` (confirmed, or
/// given up by the owner) → gone; or `retry` / `retryAllInFlight` → pending again, sent again in
/// order. Delivery is at least once: a record sent but not confirmed before a crash is sent again.
///
/// A plain value: the owner confines it to one thread (a `SinkWorker` thread). File problems
/// never throw; the records stay in memory and the reasons are collected for the owner to log
/// (`takeProblems()`).
///
/// On disk: `<directory>/<first sequence number, 20 digits>.spool`, one `<seq> <record line>`
/// per line; files never interleave, so their names give the replay order.
public struct Spool<Record: SpoolRecord>: Sendable {
    /// A record with its position in the spool.
    public struct Entry: Sendable {
        /// Increasing position, unique in this spool (also across restarts).
        public let seq: UInt64
        public let record: Record
    }

    private enum Phase: Sendable {
        case pending, sent, done
    }

    private struct Slot: Sendable {
        var seq: UInt64
        var record: Record
        var phase: Phase
        /// The segment file (its first sequence number) that holds this record, if any.
        var segment: UInt64?
    }

    /// A segment file not loaded into memory.
    private struct Segment: Sendable {
        var first: UInt64
        var lines: Int
        var bytes: Int
    }

    /// Where segment files are kept; `nil` keeps everything in memory.
    public let directory: String?
    /// Records held in memory before new ones go to disk (and the size of one segment file).
    public let memoryLimit: Int
    /// When on, every `append` writes the new records to disk at once, so a crash loses nothing
    /// that was accepted (`lastAppendPersisted` tells whether that write succeeded).
    public var writeThrough = false
    /// Whether the records of the last `append` reached disk (always `true` without
    /// `writeThrough`, which does not try).
    public private(set) var lastAppendPersisted = true
    /// With `writeThrough`: an `append` writes its records to the files at once but leaves the
    /// flush to the disk (`fdatasync`) to the owner, who takes the files to flush with
    /// `takeUnflushed()` — a `SinkWorker` flushes them on another thread while it sends, instead
    /// of waiting for the disk before each batch. Written records survive a `kill -9` at once
    /// (the kernel has them); they are safe from a power cut once flushed. `persistAll` still
    /// flushes before it returns, these files included.
    public var deferFlush = false
    /// Files appended to and not flushed yet, with whether each was created (its directory
    /// entry needs a flush too).
    private var unflushed: [String: Bool] = [:]
    /// Whether the write in progress is an `append`'s deferred one.
    private var deferringFlush = false
    /// Records per segment file written from memory (`persistAll`, `writeThrough`): a file is
    /// deleted once all of its records are confirmed, so smaller files mean fewer records sent
    /// twice after a crash.
    public let segmentLimit: Int
    /// Bytes the spool files may take. Beyond it the oldest files not being sent are deleted,
    /// their records counted in `droppedForSpace`.
    public let maxBytes: Int
    /// Records deleted so far to keep the files within `maxBytes`.
    public private(set) var droppedForSpace = 0
    /// Bytes in the spool files now.
    public private(set) var fileBytes = 0

    // The logical queue, oldest first, is `window` ++ `disk` ++ `tail`.
    /// Records in memory that may be sent: `window[windowHead...]`.
    private var window: [Slot] = []
    private var windowHead = 0
    /// Index into `window` before which nothing is pending.
    private var firstPending = 0
    /// Index into `window` before which every live record is on disk (a hint for `persistWindow`).
    private var persistedPrefix = 0
    /// Segment files waiting to be loaded, oldest first.
    private var disk: [Segment] = []
    /// The newest records, kept in memory behind `disk`.
    private var tail: [Slot] = []
    /// For each segment loaded into `window`: records from it not yet done, and lines in its file.
    private var loadedLive: [UInt64: Int] = [:]
    private var loadedLines: [UInt64: Int] = [:]
    private var loadedBytes: [UInt64: Int] = [:]
    /// The segment holding the highest persisted sequence number: new records may be appended.
    private var openSegment: UInt64?
    private var maxPersisted: UInt64 = 0
    private var nextSeq: UInt64 = 1
    private var liveInWindow = 0
    private var problems: [String] = []
    /// The byte buffer spool lines are written into, kept between writes.
    private var lineBuffer = ReusableBytes()

    /// Records sent and not yet completed or retried.
    public private(set) var inFlightCount = 0

    /// Opens a spool; with a `directory`, loads the list of segment files left by an earlier run
    /// (they are replayed before anything appended now) and removes half-written temporary files.
    public init(directory: String?, memoryLimit: Int, segmentLimit: Int = 1000, maxBytes: Int = .max) {
        self.directory = directory
        self.maxBytes = max(1, maxBytes)
        self.memoryLimit = max(1, memoryLimit)
        self.segmentLimit = max(1, min(segmentLimit, memoryLimit))
        guard let directory else { return }
        do {
            try FileSystem.makeDirectories(directory)
        } catch {
            problems.append("cannot create spool directory: \(error)")
            return
        }
        // Temporaries of compactions and journal rewrites a killed run left behind.
        FileSystem.removeStaleTemporaries(in: directory)
        var firsts: [UInt64] = []
        for name in FileSystem.list(directory) {
            if name.hasSuffix(".spool"), let first = UInt64(name.dropLast(6)) { firsts.append(first) }
        }
        for first in firsts.sorted() {
            let path = SpoolFiles.path(directory, first)
            do {
                let text = try FileSystem.readBytes(path)
                var count = 0
                var bytes = 0
                SpoolFiles.forEachLine(text) { seq, _, line in
                    bytes += line.count + 1
                    guard let seq else { return }
                    count += 1
                    nextSeq = max(nextSeq, seq + 1)
                }
                if count == 0 {
                    unlink(path)
                    continue
                }
                disk.append(Segment(first: first, lines: count, bytes: bytes))
                fileBytes += bytes
                maxPersisted = nextSeq - 1
            } catch {
                problems.append("cannot read spool file, leaving it aside: \(error)")
                rename(path, path + ".corrupt")
            }
        }
    }

    // MARK: Counts

    /// Records not yet completed (pending or sent), in memory and on disk.
    public var count: Int { liveInWindow + tail.count + disk.reduce(0) { $0 + $1.lines } }
    /// Whether every record was completed.
    public var isEmpty: Bool { count == 0 }
    /// Records waiting to be sent.
    public var pendingCount: Int { count - inFlightCount }
    /// Records held in memory (including completed ones not yet released).
    public var memoryCount: Int { window.count - windowHead + tail.count }
    /// Records only on disk, not loaded.
    public var diskOnlyCount: Int { disk.reduce(0) { $0 + $1.lines } }

    /// The file problems since the last call (failed writes, unreadable lines), for logging.
    public mutating func takeProblems() -> [String] {
        defer { problems.removeAll() }
        return problems
    }

    // MARK: Transitions

    /// Adds records at the end, in order.
    public mutating func append(_ records: some Sequence<Record>) {
        for record in records {
            let slot = Slot(seq: nextSeq, record: record, phase: .pending, segment: nil)
            nextSeq += 1
            if disk.isEmpty && tail.isEmpty && window.count - windowHead < memoryLimit {
                window.append(slot)
                liveInWindow += 1
            } else {
                tail.append(slot)
            }
        }
        if writeThrough {
            deferringFlush = deferFlush
            defer { deferringFlush = false }
            lastAppendPersisted = persistAll(compact: false)
        } else if !tail.isEmpty && memoryCount > memoryLimit {
            spillTail()
        }
    }

    /// The files written with `deferFlush` and not flushed since, each with whether it was
    /// created; the caller flushes them (`FileSystem.flush(_:directoryToo:)`).
    public mutating func takeUnflushed() -> [(path: String, created: Bool)] {
        defer { unflushed.removeAll() }
        return unflushed.map { ($0.key, $0.value) }
    }

    /// Up to `max` pending records, oldest first, now marked sent.
    @_specialize(where Record == CheckResult)
    public mutating func takeToSend(max: Int) -> [Entry] {
        refill()
        var taken: [Entry] = []
        var index = Swift.max(firstPending, windowHead)
        while index < window.count && taken.count < max {
            if window[index].phase == .pending {
                window[index].phase = .sent
                taken.append(Entry(seq: window[index].seq, record: window[index].record))
            }
            index += 1
        }
        firstPending = index
        inFlightCount += taken.count
        return taken
    }

    /// Marks records as finished (confirmed by the sink, or given up by the owner): they leave
    /// the spool, and segment files whose records are all finished are deleted.
    @_specialize(where Record == CheckResult, S == [UInt64])
    public mutating func complete<S: Sequence<UInt64>>(_ seqs: S) {
        for seq in seqs {
            guard let index = index(of: seq), window[index].phase != .done else { continue }
            if window[index].phase == .sent { inFlightCount -= 1 }
            window[index].phase = .done
            liveInWindow -= 1
            if let segment = window[index].segment {
                let left = (loadedLive[segment] ?? 1) - 1
                loadedLive[segment] = left
                if left == 0 { removeLoadedSegment(segment) }
            }
        }
        releaseDone()
    }

    /// Puts sent records back to pending: they are sent again, before newer records.
    @_specialize(where Record == CheckResult, S == [UInt64])
    public mutating func retry<S: Sequence<UInt64>>(_ seqs: S) {
        for seq in seqs {
            guard let index = index(of: seq), window[index].phase == .sent else { continue }
            window[index].phase = .pending
            inFlightCount -= 1
            firstPending = min(firstPending, index)
        }
    }

    /// Puts every sent record back to pending (the connection was lost before confirms came).
    @_specialize(where Record == CheckResult)
    public mutating func retryAllInFlight() {
        guard inFlightCount > 0 else { return }
        for index in windowHead..<window.count where window[index].phase == .sent {
            window[index].phase = .pending
        }
        inFlightCount = 0
        firstPending = windowHead
    }

    /// Writes every record held only in memory to disk and frees the memory of those at the
    /// end; with `compact`, also rewrites loaded files without their completed records, so a
    /// restart resends nothing already confirmed. Used when the sink goes away and at shutdown.
    /// Returns whether every record is on disk (no write failed).
    @discardableResult
    public mutating func persistAll(compact: Bool = true) -> Bool {
        guard directory != nil else { return false }
        let before = problems.count
        persistWindow()
        spillTail()
        enforceMaxBytes()
        if !deferringFlush { flushWritten() }
        let persisted = problems.count == before && tail.isEmpty
        if compact { compactLoaded() }
        return persisted
    }

    // MARK: Internals

    /// Appends `text` (whole lines, UTF-8) to the file at `path`: flushed to the disk, or, in a
    /// deferred append, only written and listed in `unflushed`.
    private mutating func write(_ text: [UInt8], to path: String) throws(FileSystem.Error) {
        guard deferringFlush else {
            _ = try FileSystem.append(bytes: text, to: path, flush: true)
            return
        }
        let created = try FileSystem.append(bytes: text, to: path, flush: false)
        unflushed[path] = (unflushed[path] ?? false) || created
    }

    /// Flushes the files deferred appends wrote; those that fail stay listed.
    private mutating func flushWritten() {
        for (path, created) in unflushed {
            do {
                try FileSystem.flush(path, directoryToo: created)
                unflushed[path] = nil
            } catch {
                problems.append("cannot flush spool file: \(error)")
            }
        }
    }

    private func index(of seq: UInt64) -> Int? {
        guard windowHead < window.count else { return nil }
        // The window's numbers are consecutive unless compaction or a loaded file left gaps:
        // where they are, the record is at its offset from the head (the common case).
        let first = window[windowHead].seq
        if seq >= first, seq - first < UInt64(window.count - windowHead) {
            let guess = windowHead + Int(seq - first)
            if window[guess].seq == seq { return guess }
        }
        var low = windowHead
        var high = window.count
        while low < high {
            let mid = (low + high) / 2
            if window[mid].seq < seq { low = mid + 1 } else { high = mid }
        }
        return low < window.count && window[low].seq == seq ? low : nil
    }

    private mutating func releaseDone() {
        while windowHead < window.count && window[windowHead].phase == .done { windowHead += 1 }
        if windowHead == window.count {
            window.removeAll(keepingCapacity: true)
            windowHead = 0
            firstPending = 0
            persistedPrefix = 0
        } else if windowHead > 1024 && windowHead * 2 > window.count {
            window.removeFirst(windowHead)
            firstPending = max(0, firstPending - windowHead)
            persistedPrefix = max(0, persistedPrefix - windowHead)
            windowHead = 0
        }
    }

    /// Moves records from disk, then from the tail, into the window while it has room. A whole
    /// segment file is loaded at once, so the window holds less than twice `memoryLimit`.
    private mutating func refill() {
        while window.count - windowHead < memoryLimit {
            if !disk.isEmpty {
                load(disk.removeFirst())
            } else if !tail.isEmpty {
                let moving = min(tail.count, memoryLimit - (window.count - windowHead))
                window.append(contentsOf: tail[..<moving])
                liveInWindow += moving
                tail.removeFirst(moving)
            } else {
                return
            }
        }
    }

    private mutating func load(_ segment: Segment) {
        guard let directory else { return }
        let path = SpoolFiles.path(directory, segment.first)
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readBytes(path)
        } catch {
            problems.append("cannot read spool file, leaving it aside: \(error)")
            rename(path, path + ".corrupt")
            return
        }
        var loaded = 0
        var bad = 0
        var lineCount = 0
        let previousLast = window.last?.seq ?? 0
        // Line by line from the file's bytes: no `String` of the file, nor of each line.
        SpoolFiles.forEachLine(bytes) { seq, text, _ in
            lineCount += 1
            guard let seq, seq > previousLast else {
                bad += 1
                return
            }
            do {
                let record = try Record(spoolLine: text)
                window.append(Slot(seq: seq, record: record, phase: .pending, segment: segment.first))
                loaded += 1
            } catch {
                bad += 1
            }
        }
        if bad > 0 { problems.append("skipped \(bad) unreadable line(s) in spool file \(path)") }
        liveInWindow += loaded
        if loaded == 0 {
            unlink(path)
            fileBytes -= segment.bytes
            if openSegment == segment.first { openSegment = nil }
            return
        }
        loadedLive[segment.first] = loaded
        loadedLines[segment.first] = lineCount
        loadedBytes[segment.first] = segment.bytes
    }

    /// Deletes a loaded segment whose records are all done.
    private mutating func removeLoadedSegment(_ segment: UInt64) {
        if let directory { unlink(SpoolFiles.path(directory, segment)) }
        fileBytes -= loadedBytes[segment] ?? 0
        loadedLive[segment] = nil
        loadedLines[segment] = nil
        loadedBytes[segment] = nil
        if openSegment == segment { openSegment = nil }
    }

    /// Writes each run of not-yet-persisted live records in the window to disk. Runs are split
    /// at records already on disk, so no two files' ranges interleave.
    private mutating func persistWindow() {
        guard let directory else { return }
        var index = max(windowHead, persistedPrefix)
        var failed = false
        defer { if !failed { persistedPrefix = max(persistedPrefix, index) } }
        while index < window.count {
            guard window[index].segment == nil, window[index].phase != .done else {
                index += 1
                continue
            }
            var run: [Int] = []
            while index < window.count && window[index].segment == nil {
                if window[index].phase != .done { run.append(index) }
                index += 1
            }
            var text = lineBuffer.take()
            defer { lineBuffer.keep(text) }
            for i in run { SpoolFiles.appendLine(window[i].seq, window[i].record, to: &text) }
            let first = window[run[0]].seq
            // Append to the open file when this run follows everything persisted and that
            // file is loaded (its records are in the window, just before this run).
            let target: UInt64
            if let open = openSegment, first > maxPersisted, let openLines = loadedLines[open],
                openLines + run.count <= segmentLimit
            {
                target = open
            } else {
                target = first
            }
            do {
                try write(text, to: SpoolFiles.path(directory, target))
            } catch {
                problems.append("cannot write spool file: \(error)")
                failed = true
                return
            }
            for i in run { window[i].segment = target }
            let bytes = text.count
            fileBytes += bytes
            loadedBytes[target, default: 0] += bytes
            loadedLive[target, default: 0] += run.count
            loadedLines[target, default: 0] += run.count
            let last = window[run[run.count - 1]].seq
            if last > maxPersisted {
                maxPersisted = last
                openSegment = target
            }
        }
    }

    /// Records written to a file at once when the tail spills: the lines of 10,000 results
    /// (6 MB) in one buffer were new mappings of glibc's at every doubling, and too large to keep
    /// (`ReusableBytes.keptCapacity`).
    static var spillRun: Int { 500 }

    /// Moves the tail to disk in files of at most `memoryLimit` records (the first part appended
    /// to the last file when that is the open one and has room), `spillRun` records a write.
    private mutating func spillTail() {
        guard let directory, !tail.isEmpty else { return }
        var start = 0
        while start < tail.count {
            let room = disk.last.map { memoryLimit - $0.lines } ?? 0
            let appendToLast = openSegment != nil && disk.last?.first == openSegment && tail[start].seq > maxPersisted && room > 0
            // At most `spillRun` records a write; the next one appends to the same file.
            let end = min(tail.count, start + min(appendToLast ? room : memoryLimit, Self.spillRun))
            var text = lineBuffer.take()
            defer { lineBuffer.keep(text) }
            for i in start..<end { SpoolFiles.appendLine(tail[i].seq, tail[i].record, to: &text) }
            let target = appendToLast ? disk[disk.count - 1].first : tail[start].seq
            do {
                try write(text, to: SpoolFiles.path(directory, target))
            } catch {
                problems.append("cannot write spool file, keeping \(tail.count - start) record(s) in memory: \(error)")
                break
            }
            let bytes = text.count
            fileBytes += bytes
            if appendToLast {
                disk[disk.count - 1].lines += end - start
                disk[disk.count - 1].bytes += bytes
            } else {
                disk.append(Segment(first: target, lines: end - start, bytes: bytes))
            }
            maxPersisted = max(maxPersisted, tail[end - 1].seq)
            openSegment = target
            start = end
        }
        tail.removeFirst(start)
        enforceMaxBytes()
    }

    /// Deletes the oldest files not loaded for sending until the files fit in `maxBytes`.
    private mutating func enforceMaxBytes() {
        guard let directory else { return }
        while fileBytes > maxBytes, !disk.isEmpty {
            let oldest = disk.removeFirst()
            unlink(SpoolFiles.path(directory, oldest.first))
            fileBytes -= oldest.bytes
            droppedForSpace += oldest.lines
            if openSegment == oldest.first { openSegment = nil }
        }
    }

    /// Rewrites loaded files that hold completed records with only their live records.
    private mutating func compactLoaded() {
        guard let directory else { return }
        var live: [UInt64: [String]] = [:]
        for index in windowHead..<window.count {
            guard let segment = window[index].segment, window[index].phase != .done else { continue }
            live[segment, default: []].append(SpoolFiles.line(window[index].seq, window[index].record))
        }
        for (segment, lines) in loadedLines where (loadedLive[segment] ?? 0) < lines {
            let keep = live[segment] ?? []
            let path = SpoolFiles.path(directory, segment)
            if keep.isEmpty {
                removeLoadedSegment(segment)
                continue
            }
            do {
                let text = keep.joined(separator: "\n") + "\n"
                try FileSystem.writeAtomically(text, to: path)
                loadedLines[segment] = keep.count
                fileBytes += text.utf8.count - (loadedBytes[segment] ?? 0)
                loadedBytes[segment] = text.utf8.count
            } catch {
                problems.append("cannot compact spool file: \(error)")
            }
        }
    }
}

/// The spool's file format.
enum SpoolFiles {
    static func path(_ directory: String, _ first: UInt64) -> String {
        let digits = String(first)
        return directory + "/" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".spool"
    }

    /// Appends `line(seq, record)` and a newline to `out`.
    static func appendLine<R: SpoolRecord>(_ seq: UInt64, _ record: R, to out: inout [UInt8]) {
        out.append(contentsOf: String(seq).utf8)
        out.append(UInt8(ascii: " "))
        let start = out.count
        record.writeSpoolLine(into: &out)
        // A record line must be one line; a newline would split it on reading. JSON writers
        // escape newlines, so this only guards against a broken `spoolLine`.
        let oneLine = out.withUnsafeBufferPointer { memchr($0.baseAddress! + start, 0x0A, $0.count - start) == nil }
        precondition(oneLine, "spool record lines must not contain a newline")
        out.append(0x0A)
    }

    /// One record line, without its newline (a compaction rewrites a file from them).
    static func line<R: SpoolRecord>(_ seq: UInt64, _ record: R) -> String {
        var out: [UInt8] = []
        appendLine(seq, record, to: &out)
        return String(decoding: out.dropLast(), as: UTF8.self)
    }

    /// Calls `body` with each non-empty line of `bytes`: its sequence number (`nil`: not a
    /// record line), the record's text after the space, and the whole line (without its
    /// newline). Split at newline bytes (a newline is
    /// never part of a longer character in UTF-8), with no `String` of the file or of a line: a
    /// spool of tens of thousands of records is read back in a burst.
    static func forEachLine(
        _ bytes: [UInt8], _ body: (_ seq: UInt64?, _ record: UnsafeBufferPointer<UInt8>, _ line: UnsafeBufferPointer<UInt8>) -> Void
    ) {
        bytes.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else { return }
            var start = 0
            while start < all.count {
                let end = memchr(base + start, 0x0A, all.count - start).map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base } ?? all.count
                defer { start = end + 1 }
                guard end > start else { continue }
                let line = UnsafeBufferPointer(rebasing: all[start..<end])
                // The number: ASCII digits up to the first space.
                var seq: UInt64? = nil
                var i = 0
                var value: UInt64 = 0
                while i < line.count, line[i] >= UInt8(ascii: "0"), line[i] <= UInt8(ascii: "9"), i < 20 {
                    let (times, o1) = value.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = times.addingReportingOverflow(UInt64(line[i] - UInt8(ascii: "0")))
                    if o1 || o2 { break }
                    value = sum
                    i += 1
                }
                if i > 0, i < line.count, line[i] == UInt8(ascii: " ") { seq = value }
                body(seq, seq == nil ? UnsafeBufferPointer(rebasing: line[0..<0]) : UnsafeBufferPointer(rebasing: line[(i + 1)...]), line)
            }
        }
    }
}
