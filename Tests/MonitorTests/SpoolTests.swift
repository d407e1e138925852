import Foundation
import Monitor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A minimal record: its text is its identity.
struct Note: SpoolRecord, Equatable {
    var text: String
    var spoolID: String { text }
    var spoolLine: String { text }
    init(_ text: String) { self.text = text }
    init(spoolLine: String) throws { text = spoolLine }
}

/// A fresh, empty directory under the temporary directory (`TMPDIR`, else /tmp).
func spoolTestDirectory(_ name: String = "spool") -> String {
    var template = Array((NSTemporaryDirectory() + "hm-test-\(name)-XXXXXX").utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed")
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func spoolFiles(_ directory: String) -> [String] {
    guard let dir = opendir(directory) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name.hasSuffix(".spool") { names.append(name) }
    }
    return names.sorted()
}

func notes(_ range: ClosedRange<Int>) -> [Note] { range.map { Note("r\($0)") } }

extension Spool where Record == Note {
    /// Takes everything pending, oldest first.
    mutating func drainTexts(max: Int = .max) -> [String] {
        takeToSend(max: max).map(\.record.text)
    }

    /// Takes and confirms everything, `batch` records at a time; the texts in the order sent.
    mutating func deliverAll(batch: Int) -> [String] {
        var order: [String] = []
        while true {
            let taken = takeToSend(max: batch)
            if taken.isEmpty { return order }
            order += taken.map(\.record.text)
            complete(taken.map(\.seq))
        }
    }
}

@Suite(.blocking) struct SpoolTests {
    @Test func keepsOrderAndForgetsCompletedRecords() {
        var spool = Spool<Note>(directory: nil, memoryLimit: 100)
        spool.append(notes(1...5))
        #expect(spool.count == 5)
        let first = spool.takeToSend(max: 3)
        #expect(first.map(\.record.text) == ["r1", "r2", "r3"])
        #expect(spool.inFlightCount == 3)
        #expect(spool.pendingCount == 2)
        spool.complete(first.map(\.seq))
        #expect(spool.count == 2)
        #expect(spool.drainTexts() == ["r4", "r5"])
        #expect(spool.takeToSend(max: 10).isEmpty)
    }

    @Test func retriedRecordsGoOutAgainBeforeNewerOnes() {
        var spool = Spool<Note>(directory: nil, memoryLimit: 100)
        spool.append(notes(1...5))
        let sent = spool.takeToSend(max: 3)
        spool.complete([sent[0].seq, sent[2].seq])
        spool.retry([sent[1].seq])
        #expect(spool.drainTexts() == ["r2", "r4", "r5"])
    }

    @Test func lostConnectionResendsEverythingUnconfirmedInOrder() {
        var spool = Spool<Note>(directory: nil, memoryLimit: 100)
        spool.append(notes(1...4))
        let sent = spool.takeToSend(max: 4)
        spool.complete([sent[1].seq])
        spool.retryAllInFlight()
        #expect(spool.inFlightCount == 0)
        #expect(spool.drainTexts() == ["r1", "r3", "r4"])
    }

    @Test func completingUnknownOrRepeatedSequenceNumbersChangesNothing() {
        var spool = Spool<Note>(directory: nil, memoryLimit: 100)
        spool.append(notes(1...2))
        let sent = spool.takeToSend(max: 2)
        spool.complete([sent[0].seq, sent[0].seq, 999])
        #expect(spool.count == 1)
        #expect(spool.inFlightCount == 1)
    }

    @Test func spillsBeyondTheMemoryLimitAndReadsBackInOrder() {
        let directory = spoolTestDirectory()
        var spool = Spool<Note>(directory: directory, memoryLimit: 3)
        spool.append(notes(1...10))
        #expect(spool.memoryCount <= 3)
        #expect(spool.diskOnlyCount == 7)
        #expect(!spoolFiles(directory).isEmpty)
        var order: [String] = []
        while true {
            let batch = spool.takeToSend(max: 2)
            if batch.isEmpty { break }
            #expect(spool.memoryCount <= 6)
            order += batch.map(\.record.text)
            spool.complete(batch.map(\.seq))
        }
        #expect(order == notes(1...10).map(\.text))
        #expect(spool.isEmpty)
        #expect(spoolFiles(directory).isEmpty, "files of confirmed records are deleted")
        #expect(spool.takeProblems().isEmpty)
    }

    /// A spill larger than `spillRun` is written in several appends, each to the file the
    /// previous one began: the files still hold `memoryLimit` records each, and read back whole
    /// and in order.
    @Test func aLargeSpillIsWrittenInRunsToFilesOfTheMemoryLimit() throws {
        let directory = spoolTestDirectory()
        var spool = Spool<Note>(directory: directory, memoryLimit: 2000)
        spool.append(notes(1...5000))
        #expect(spool.diskOnlyCount == 3000)
        let files = spoolFiles(directory)
        #expect(files.count == 2)
        let lines = try files.map { name in
            try FileSystem.readBytes(directory + "/" + name).filter { $0 == UInt8(ascii: "\n") }.count
        }
        #expect(lines == [2000, 1000])
        // Each file begins with the sequence number of its first record.
        #expect(files.first.map { String($0.drop { $0 == "0" }) } == "2001.spool")
        #expect(spool.deliverAll(batch: 700) == notes(1...5000).map(\.text))
        #expect(spoolFiles(directory).isEmpty)
        #expect(spool.takeProblems().isEmpty)
    }

    /// Records are "r1"…"r100", lines "<seq> rN" of 5–8 bytes; files of 10 lines. Beyond
    /// `maxBytes` the oldest files waiting on disk go; the window being sent stays.
    @Test func theFilesStayWithinMaxBytesByDroppingTheOldestWaitingOnDisk() throws {
        let directory = spoolTestDirectory()
        var spool = Spool<Note>(directory: directory, memoryLimit: 10, maxBytes: 300)
        spool.writeThrough = true
        for i in 1...100 { spool.append([Note("r\(i)")]) }
        let sizes = try spoolFiles(directory).map { try FileSystem.readText(directory + "/" + $0).utf8.count }
        #expect(spool.fileBytes == sizes.reduce(0, +), "the count agrees with the files")
        #expect(spool.fileBytes <= 300)
        #expect(spool.droppedForSpace > 0)
        #expect(spool.count == 100 - spool.droppedForSpace)
        #expect(spool.takeProblems().isEmpty)
        // What is left, read back as the next start would: the window (r1–r10, being sent)
        // and the newest records, in order, with one gap where files were dropped.
        var again = Spool<Note>(directory: directory, memoryLimit: 1000)
        let left = again.drainTexts()
        let kept = 100 - spool.droppedForSpace
        #expect(left == notes(1...10).map(\.text) + notes((100 - kept + 11)...100).map(\.text))
    }

    @Test func aRestartReplaysWhatWasPersistedBeforeNewRecords() {
        let directory = spoolTestDirectory()
        do {
            var spool = Spool<Note>(directory: directory, memoryLimit: 100)
            spool.append(notes(1...5))
            _ = spool.takeToSend(max: 2)  // in flight when the process stops
            spool.retryAllInFlight()
            spool.persistAll()
        }
        var again = Spool<Note>(directory: directory, memoryLimit: 100)
        #expect(again.count == 5)
        again.append(notes(6...7))
        #expect(again.drainTexts() == notes(1...7).map(\.text))
    }

    @Test func writeThroughSurvivesACrashWithoutShutdown() {
        let directory = spoolTestDirectory()
        do {
            var spool = Spool<Note>(directory: directory, memoryLimit: 100)
            spool.writeThrough = true
            for i in 1...6 { spool.append([Note("r\(i)")]) }
            // No persistAll: the process is killed here.
        }
        #expect(spoolFiles(directory).count == 1, "appends go to one open file, not one file per record")
        var again = Spool<Note>(directory: directory, memoryLimit: 100)
        #expect(again.drainTexts() == notes(1...6).map(\.text))
    }

    /// With `deferFlush` an append writes its records (a killed process loses none) and lists
    /// the file for its owner to flush; the file is "created" once, and `persistAll` flushes
    /// what is still listed.
    @Test func deferredFlushWritesAtOnceAndListsTheFilesToFlush() throws {
        let directory = spoolTestDirectory()
        do {
            var spool = Spool<Note>(directory: directory, memoryLimit: 100)
            spool.writeThrough = true
            spool.deferFlush = true
            spool.append(notes(1...3))
            #expect(spool.lastAppendPersisted)
            let first = spool.takeUnflushed()
            #expect(first.count == 1)
            #expect(first.first?.created == true, "a new file: its directory entry needs a flush too")
            #expect(spool.takeUnflushed().isEmpty, "taken once")
            spool.append(notes(4...5))
            #expect(spool.takeUnflushed().map(\.created) == [false], "the same, open file")
            spool.append(notes(6...6))
            let persisted = spool.persistAll(compact: false)
            #expect(persisted)
            let left = spool.takeUnflushed()
            #expect(left.isEmpty, "persistAll flushed it")
            // No shutdown: the process is killed here.
        }
        var again = Spool<Note>(directory: directory, memoryLimit: 100)
        #expect(again.drainTexts() == notes(1...6).map(\.text))
    }

    @Test func confirmedRecordsAreNotReplayedAfterCompaction() {
        let directory = spoolTestDirectory()
        do {
            var spool = Spool<Note>(directory: directory, memoryLimit: 100)
            spool.writeThrough = true
            spool.append(notes(1...5))
            let sent = spool.takeToSend(max: 5)
            spool.complete([sent[0].seq, sent[1].seq, sent[3].seq])
            spool.retryAllInFlight()
            spool.persistAll(compact: true)
        }
        var again = Spool<Note>(directory: directory, memoryLimit: 100)
        #expect(again.count == 2)
        #expect(again.drainTexts() == ["r3", "r5"])
    }

    @Test func persistingAMixedWindowKeepsTheReplayOrder() {
        // Build a window holding a record only in memory (r4) ahead of records loaded from
        // files (r5, r6 and r7), then persist and replay after a restart.
        let directory = spoolTestDirectory()
        do {
            var spool = Spool<Note>(directory: directory, memoryLimit: 4)
            spool.append(notes(1...4))
            spool.append(notes(5...6))  // beyond the limit: spilled
            let a = spool.takeToSend(max: 2)
            spool.complete(a.map(\.seq))  // r1 r2 done; the next take loads r5 r6
            let b = spool.takeToSend(max: 1)
            #expect(b.map(\.record.text) == ["r3"])
            spool.append(notes(7...7))  // window full: spilled behind r5 r6
            spool.complete(b.map(\.seq))
            spool.retryAllInFlight()
            spool.persistAll()
        }
        var again = Spool<Note>(directory: directory, memoryLimit: 4)
        #expect(again.drainTexts() == ["r4", "r5", "r6", "r7"])
    }

    @Test func unreadableLinesAreSkippedAndReported() throws {
        let directory = spoolTestDirectory()
        // Not records: no number, a number without its space, one past UInt64; empty lines
        // are not lines at all.
        try FileSystem.writeAtomically(
            "1 r1\ngarbage\n\n7\n99999999999999999999999 r\n3 r3 with spaces ü\n\n", to: directory + "/00000000000000000001.spool")
        var spool = Spool<Note>(directory: directory, memoryLimit: 10)
        #expect(spool.count == 2)
        #expect(spool.drainTexts() == ["r1", "r3 with spaces ü"])
        #expect(spool.takeProblems().count == 1)
        spool.append([Note("r4")])
        #expect(spool.drainTexts() == ["r4"], "new records continue after the highest replayed number")
    }

    /// Random operations against a model list: `takeToSend` must always return the oldest
    /// pending records, and a restart after `persistAll` must restore exactly the live ones.
    @Test(arguments: [1, 2, 3, 5, 8])
    func behavesLikeAnOrderedListUnderRandomOperations(memoryLimit: Int) {
        let directory = spoolTestDirectory("model")
        var rng = SplitMix64(seed: UInt64(memoryLimit) * 7919)
        var spool = Spool<Note>(directory: directory, memoryLimit: memoryLimit)
        // The model: live records in order, with whether each is in flight.
        var live: [(text: String, seq: UInt64?)] = []
        var next = 1
        for _ in 0..<600 {
            switch rng.next() % 7 {
            case 0, 1:
                let n = Int(rng.next() % 4) + 1
                let new = (next..<(next + n)).map { Note("r\($0)") }
                next += n
                spool.append(new)
                live += new.map { ($0.text, nil) }
            case 2:
                let n = Int(rng.next() % 4) + 1
                let taken = spool.takeToSend(max: n)
                let expected = Array(live.filter { $0.seq == nil }.prefix(n).map(\.text))
                // Fewer only when memory is full of records sent or waiting behind one in flight.
                #expect(taken.map(\.record.text) == Array(expected.prefix(taken.count)))
                if taken.count < expected.count { #expect(spool.memoryCount >= memoryLimit) }
                for entry in taken {
                    let i = live.firstIndex { $0.text == entry.record.text }!
                    live[i].seq = entry.seq
                }
            case 3:
                let inFlight = live.filter { $0.seq != nil }
                guard !inFlight.isEmpty else { continue }
                let chosen = inFlight.filter { _ in rng.next() % 2 == 0 }
                spool.complete(chosen.map { $0.seq! })
                let gone = Set(chosen.map(\.text))
                live.removeAll { gone.contains($0.text) }
            case 4:
                let inFlight = live.filter { $0.seq != nil }
                guard let one = inFlight.first(where: { _ in rng.next() % 3 == 0 }) else { continue }
                spool.retry([one.seq!])
                let i = live.firstIndex { $0.text == one.text }!
                live[i].seq = nil
            case 5:
                spool.writeThrough.toggle()
            default:
                // Restart: persist, reopen, everything live becomes pending again.
                spool.retryAllInFlight()
                spool.persistAll()
                spool = Spool<Note>(directory: directory, memoryLimit: memoryLimit)
                for i in live.indices { live[i].seq = nil }
            }
            #expect(spool.count == live.count)
            #expect(spool.inFlightCount == live.filter { $0.seq != nil }.count)
        }
        spool.retryAllInFlight()
        #expect(spool.deliverAll(batch: 3) == live.map(\.text))
        #expect(spool.isEmpty)
        #expect(spoolFiles(directory).isEmpty)
        #expect(spool.takeProblems().isEmpty)
    }
}
