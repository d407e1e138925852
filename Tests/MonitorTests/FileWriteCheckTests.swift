import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import Monitor

@Suite(.serialized) struct FileWriteCheckTests {
    func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "hm-filewrite-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        try #require(made != nil)
        return String(cString: template)
    }

    @Test func writesALineAndCounts() async throws {
        let directory = try temporaryDirectory()
        let file = directory + "/out.txt"
        let check = FileWriteCheck(file: file)
        let first = await check.run()
        #expect(first.status == .success)
        #expect(first.message == "Successfully wrote to \(file)")
        #expect(first.measurement["ok"] == 1 && first.measurement["fail"] == 0 && first.measurement["total"] == 1)
        #expect(first.measurement["state"] == 0)
        #expect((first.measurement["write_ms"]?.doubleValue ?? -1) >= 0)
        _ = await check.run()
        let text = try FileSystem.readText(file)
        #expect(text.hasSuffix(" : ok=2 fail=0 total=2\n"))
        #expect(text.split(separator: "\n").count == 1, "the file is replaced, not appended to")
    }

    @Test func missingDirectoryGivesTheOSError() async {
        let check = FileWriteCheck(file: "/tmp/hm-no-such-directory/x/out.txt")
        let outcome = await check.run()
        #expect(outcome.status == .failure)
        #expect(outcome.message == "Failed to write to /tmp/hm-no-such-directory/x/out.txt: open: No such file or directory")
        #expect(outcome.measurement["fail"] == 1 && outcome.measurement["ok"] == 0 && outcome.measurement["state"] == 1)
        #expect(outcome.measurement["write_ms"] == nil)
    }

    /// Tests run as root, and root ignores permission bits, so `chmod` cannot make a directory
    /// unwritable. A read-only tmpfs mounted over a temporary directory stops root too (EROFS).
    @Test func readOnlyDirectoryGivesTheOSError() async throws {
        let directory = try temporaryDirectory()
        let mounted = mount("tmpfs", directory, "tmpfs", UInt(MS_RDONLY), "size=64k")
        try #require(mounted == 0, "cannot mount a read-only tmpfs (needs root): \(String(cString: strerror(errno)))")
        defer { umount(directory) }
        let outcome = await FileWriteCheck(file: directory + "/out.txt").run()
        #expect(outcome.status == .failure)
        #expect(outcome.message == "Failed to write to \(directory)/out.txt: open: Read-only file system")
    }

    /// A path under a regular file fails for root too (ENOTDIR).
    @Test func pathUnderAFileFails() async {
        let outcome = await FileWriteCheck(file: "/dev/null/out.txt").run()
        #expect(outcome.message == "Failed to write to /dev/null/out.txt: open: Not a directory")
    }

    @Test func countersAddUpOverSuccessesAndFailures() async throws {
        let directory = try temporaryDirectory()
        let check = FileWriteCheck(file: directory + "/sub/out.txt")
        _ = await check.run()
        try FileSystem.makeDirectories(directory + "/sub")
        let second = await check.run()
        #expect(second.status == .success)
        #expect(second.measurement["ok"] == 1 && second.measurement["fail"] == 1 && second.measurement["total"] == 2)
        #expect(try FileSystem.readText(directory + "/sub/out.txt").hasSuffix(" : ok=1 fail=1 total=2\n"))
    }

    /// The blocking write runs on the file pool: many concurrent runs never occupy the
    /// cooperative threads (a task that only needs a cooperative thread keeps running meanwhile).
    @Test func concurrentRunsComplete() async throws {
        let directory = try temporaryDirectory()
        let outcomes = await withTaskGroup(of: CheckOutcome.self) { group in
            for index in 0..<50 {
                group.addTask { await FileWriteCheck(file: "\(directory)/f\(index).txt").run() }
            }
            return await group.reduce(into: [CheckOutcome]()) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0.status == .success })
    }
}
