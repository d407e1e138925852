#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Monitor
import Testing

@Suite(.blocking) struct PolicyBookTests {
    private func result(_ status: Status, _ label: String = "web", at seconds: Int64 = 0) -> CheckResult {
        CheckResult(status: status, check: "sample", label: label, message: "", createdMillis: seconds * 1000)
    }

    /// After a restart the alert is neither repeated nor forgotten: its recovery is still sent.
    @Test func stateSurvivesARestart() throws {
        let file = temporaryDirectory() + "/ops.json"
        let policy = ReportPolicy(mode: .failure, threshold: 2, resolved: true)
        do {
            let book = PolicyBook(basePolicy: policy, file: file)
            #expect(book.observe(result(.failure)) == nil)
            #expect(book.observe(result(.failure)) == .failure)
            try book.save()
        }
        let restored = PolicyBook(basePolicy: policy, file: file)
        #expect(restored.loadProblem == nil)
        #expect(restored.state(for: "sample/web")?.openAlert == true)
        #expect(restored.observe(result(.failure)) == nil)  // same streak: not repeated
        #expect(restored.observe(result(.success)) == nil)
        #expect(restored.observe(result(.success)) == .recovery)  // not forgotten
    }

    /// A steady check changes the saved state only until its streak reaches the threshold: past
    /// it a save writes nothing (the file, removed here, is not written again), while a status
    /// change is saved.
    @Test func aSteadyCheckPastTheThresholdLeavesNothingToSave() throws {
        let file = temporaryDirectory() + "/ops.json"
        let book = PolicyBook(basePolicy: ReportPolicy(mode: .failure, threshold: 3), file: file)
        for second in 0..<3 { #expect(book.observe(result(.success, at: Int64(second))) == nil) }
        try book.save()
        #expect(book.state(for: "sample/web")?.streakLength == 3)
        #expect(unlink(file) == 0)
        for second in 3..<100 { #expect(book.observe(result(.success, at: Int64(second))) == nil) }
        try book.save()
        #expect(!FileSystem.exists(file))
        #expect(book.observe(result(.failure, at: 100)) == nil)
        try book.save()
        #expect(book.state(for: "sample/web")?.streakLength == 1)
        #expect(try FileSystem.readText(file).contains("\"streakStatus\":\"failure\""))
    }

    /// The saved file (written by hand, not by `JSONEncoder`) is JSON that `JSONDecoder` reads
    /// back exactly, keys sorted: labels with quotes, backslashes, control characters and
    /// non-ASCII letters, open alerts with their time, fresh streaks.
    @Test func theSavedFileReadsBackExactly() throws {
        let file = temporaryDirectory() + "/ops.json"
        let book = PolicyBook(basePolicy: ReportPolicy(mode: .failure, threshold: 2, repeatInterval: 60), file: file)
        let labels = ["web", "quote\"d", "back\\slash", "new\nline", "tab\tbell\u{7}", "Zürich ☃", "z"]
        for (n, label) in labels.enumerated() {
            for step in 0..<n {
                _ = book.observe(result(step % 3 == 2 ? .success : .failure, label, at: Int64(1_764_598_000 + step)))
            }
        }
        try book.save()
        let text = try FileSystem.readText(file)
        let decoded = try JSONDecoder().decode([String: PolicyState].self, from: Data(text.utf8))
        #expect(decoded.count == labels.count - 1)  // "web" saw no result
        for (key, state) in decoded { #expect(book.state(for: key) == state, "\(key)") }
        #expect(decoded.values.contains { $0.lastAlertTime != nil && $0.openAlert })
        let keys = decoded.keys.sorted()
        let offsets = keys.map { key in text.utf8.firstRange(of: (JSONValue.string(key).json() + ":").utf8)?.lowerBound }
        #expect(offsets.allSatisfy { $0 != nil } && offsets.map { $0! } == offsets.map { $0! }.sorted())
    }

    /// A large book is saved in pieces, each written as it is made: the file is the same text,
    /// and no piece is much longer than asked for.
    @Test func aLargeBookIsSavedInPiecesThatMakeTheSameText() throws {
        let file = temporaryDirectory() + "/ops.json"
        let book = PolicyBook(basePolicy: ReportPolicy(mode: .failure, threshold: 2), file: file)
        var states: [String: PolicyState] = [:]
        for i in 0..<3000 {
            _ = book.observe(result(i % 5 == 0 ? .failure : .success, "check-\(i)", at: Int64(1_764_598_000 + i)))
            states["sample/check-\(i)"] = book.state(for: "sample/check-\(i)")
        }
        try book.save()
        let text = try FileSystem.readText(file)
        #expect(text == PolicyBook.json(states))
        var pieces: [String] = []
        PolicyBook.writeJSON(states, piece: 4096) { pieces.append($0) }
        #expect(pieces.count > 10 && pieces.joined() == text)
        #expect(pieces.allSatisfy { $0.utf8.count < 4096 + 200 }, "\(pieces.map(\.utf8.count).max()!)")
        let decoded = try JSONDecoder().decode([String: PolicyState].self, from: Data(text.utf8))
        #expect(decoded == states)
    }

    /// `observe` runs on the check's task, so it never writes (a save is an `fsync`): it asks for
    /// a save, which the delivery service makes at once on its own thread.
    @Test func alertTransitionsAskForASaveWithoutWriting() async throws {
        let file = temporaryDirectory() + "/ops.json"
        let book = PolicyBook(basePolicy: ReportPolicy(mode: .failure, threshold: 1), file: file)
        var transitions = book.alertTransitions.makeAsyncIterator()
        #expect(book.observe(result(.failure)) == .failure)
        #expect(!FileSystem.exists(file))
        #expect(await transitions.next() != nil)
        try book.save()
        #expect(try FileSystem.readText(file).contains("\"openAlert\":true"))
    }

    /// State of a check removed from the config is dropped at the next start, not kept forever.
    @Test func stateOfChecksNoLongerConfiguredIsDropped() throws {
        let file = temporaryDirectory() + "/ops.json"
        let policy = ReportPolicy(mode: .failure, threshold: 1)
        let book = PolicyBook(basePolicy: policy, file: file)
        _ = book.observe(result(.failure, "kept"))
        _ = book.observe(result(.failure, "removed"))
        try book.save()
        let restarted = PolicyBook(basePolicy: policy, file: file, configuredChecks: ["sample/kept"])
        #expect(restarted.state(for: "sample/kept")?.openAlert == true)
        #expect(restarted.state(for: "sample/removed") == nil)
        try restarted.save()
        let text = try FileSystem.readText(file)
        #expect(text.contains("kept") && !text.contains("removed"), "\(text)")
    }

    @Test func checkThresholdOverridesTheNotifiers() {
        let book = PolicyBook(basePolicy: ReportPolicy(mode: .failure, threshold: 1), thresholdOverrides: ["sample/slow": 3], file: nil)
        #expect(book.observe(result(.failure, "fast")) == .failure)
        #expect(book.observe(result(.failure, "slow")) == nil)
        #expect(book.observe(result(.failure, "slow")) == nil)
        #expect(book.observe(result(.failure, "slow")) == .failure)
    }

    @Test func corruptStateStartsFreshAndSaysWhy() throws {
        let dir = temporaryDirectory()
        let file = try writeFile(dir, "ops.json", "{not json")
        let book = PolicyBook(basePolicy: ReportPolicy(mode: .failure, threshold: 1), file: file)
        #expect(book.loadProblem?.contains(file) == true)
        #expect(book.observe(result(.failure)) == .failure)
    }
}
