#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

@testable import Monitor

@Suite(.blocking) struct FileSystemTests {
    func mode(_ path: String) -> mode_t {
        var info = stat()
        _ = stat(path, &info)
        return info.st_mode & 0o777
    }

    /// State directories and files are the owner's only: spools hold every result.
    @Test func stateDirectoriesAndFilesAreOwnerOnly() throws {
        let root = temporaryDirectory()
        let directory = root + "/state/notifiers/rabbitmq"
        try FileSystem.makeDirectories(directory)
        #expect(mode(root + "/state") == 0o700)
        #expect(mode(directory) == 0o700)
        try FileSystem.writeAtomically("{}\n", to: directory + "/state.json")
        #expect(mode(directory + "/state.json") == 0o600)
        var spool = Spool<Note>(directory: directory + "/spool", memoryLimit: 1)
        spool.writeThrough = true
        spool.append([Note("r1"), Note("r2")])
        let files = spoolFiles(directory + "/spool")
        #expect(!files.isEmpty)
        for file in files { #expect(mode(directory + "/spool/" + file) == 0o600, "\(file)") }
    }

    /// `writeAtomically` leaves no temporary behind, and temporaries of a killed process (or of
    /// earlier versions) are recognised as stale; a live process's are not.
    @Test func staleTemporariesAreThoseOfGoneProcesses() throws {
        let directory = temporaryDirectory()
        try FileSystem.writeAtomically("x", to: directory + "/a.json")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["a.json"])
        #expect(try FileSystem.readText(directory + "/a.json") == "x")
        var leftovers = ["b.json.tmp", "c.json.tmp.\(getpid()).3"]
        // A pid that is not running: the highest pid_max allows is never in use here.
        leftovers.append("d.json.tmp.4194303.1")
        for name in leftovers { try FileSystem.writeAtomically("y", to: directory + "/" + name) }
        #expect(FileSystem.isStaleTemporary("b.json.tmp"))
        #expect(!FileSystem.isStaleTemporary("c.json.tmp.\(getpid()).3"), "this process is alive")
        #expect(FileSystem.isStaleTemporary("d.json.tmp.4194303.1"))
        #expect(!FileSystem.isStaleTemporary("a.json"))
        #expect(!FileSystem.isStaleTemporary("00000000000000000001.spool"))
        #expect(FileSystem.removeStaleTemporaries(in: directory) == 2)
        #expect(FileSystem.exists(directory + "/c.json.tmp.\(getpid()).3"))
        #expect(FileSystem.exists(directory + "/a.json"))
    }

    /// Opening a spool removes every temporary a killed run left in its directory: its own
    /// compactions' and the intake journal's rewrites, not only files named like spool files.
    @Test func aSpoolRemovesEveryStaleTemporaryOfItsDirectory() throws {
        let directory = temporaryDirectory()
        for name in ["00000000000000000001.spool.tmp.4194303.1", "intake.journal.tmp.4194303.2", "intake.journal.tmp"] {
            try FileSystem.writeAtomically("x", to: directory + "/" + name)
        }
        _ = Spool<Note>(directory: directory, memoryLimit: 10)
        #expect(FileSystem.list(directory).filter { $0.contains(".tmp") }.isEmpty, "\(FileSystem.list(directory))")
    }
}
