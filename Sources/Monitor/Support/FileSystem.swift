#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Small POSIX file helpers with errors that carry the OS reason (`No such file or directory`).
public enum FileSystem {
    /// An OS error: the operation, the path and `strerror(errno)`.
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var operation: String
        public var path: String
        public var code: Int32
        /// `strerror` text, e.g. `Permission denied`.
        public var reason: String { String(cString: strerror(code)) }
        public var description: String { "\(operation) \(path): \(reason)" }
        /// The file was longer than the reader allowed (`readText(_:maxBytes:)`).
        public var isTooLarge: Bool { code == EFBIG }
    }

    /// Reads a whole file as UTF-8 text.
    ///
    /// A file longer than `maxBytes` is refused with `EFBIG` (`isTooLarge`): a regular file by its
    /// size, before any of it is read; a pipe or device as soon as it has said more.
    public static func readText(_ path: String, maxBytes: Int = .max) throws(Error) -> String {
        String(decoding: try readBytes(path, maxBytes: maxBytes), as: UTF8.self)
    }

    /// The bytes of a file, as `readText` reads them, not made text (a spool file is read line
    /// by line from them).
    public static func readBytes(_ path: String, maxBytes: Int = .max) throws(Error) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Error(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        var status = stat()
        if fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size > maxBytes {
            throw Error(operation: "read", path: path, code: EFBIG)
        }
        var bytes: [UInt8] = []
        // A regular file goes into one array of its size: growing from 64 KiB by doubling copied
        // it and mapped each size anew (a spool file of 1,000 results is about 600 KiB).
        if status.st_mode & S_IFMT == S_IFREG, status.st_size > 0 { bytes.reserveCapacity(Int(status.st_size)) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw Error(operation: "read", path: path, code: errno)
            }
            if n == 0 { break }
            guard n <= maxBytes - bytes.count else { throw Error(operation: "read", path: path, code: EFBIG) }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return bytes
    }

    /// Whether a file (or directory) exists at `path`.
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Permissions of the directories and files the monitor creates in its state directory:
    /// owner only. Spools and journals hold every result (with whatever a check reports), so
    /// other users of the machine have no business reading them.
    public static let directoryMode: mode_t = 0o700
    public static let fileMode: mode_t = 0o600

    /// Creates `path` and its parents (like `mkdir -p`), owner-only (`directoryMode`).
    public static func makeDirectories(_ path: String) throws(Error) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, directoryMode) != 0 && errno != EEXIST {
                throw Error(operation: "mkdir", path: current, code: errno)
            }
        }
    }

    /// Writes `text` to `path` atomically: a temporary file, `fsync`, then `rename`. The file is
    /// owner-only (`fileMode`). The temporary name is unique to the process and the call, so two
    /// writers of one file can never interleave their bytes in one temporary file.
    public static func writeAtomically(_ text: String, to path: String) throws(Error) {
        try writeAtomically(to: path) { (write) throws(Error) in try write(text) }
    }

    /// `writeAtomically` for text made in pieces: `produce` passes each piece, in order, to the
    /// function it is given, which writes it to the temporary file; the whole is never held.
    public static func writeAtomically(to path: String, pieces produce: ((String) throws(Error) -> Void) throws(Error) -> Void) throws(Error) {
        let temporary = "\(path).tmp.\(getpid()).\(temporaryCounter.add(1, ordering: .relaxed).newValue)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, fileMode)
        guard fd >= 0 else { throw Error(operation: "open", path: temporary, code: errno) }
        do {
            try produce { (piece) throws(Error) in try writeAll(piece, to: fd, path: temporary) }
        } catch {
            close(fd)
            throw error
        }
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            throw Error(operation: "fsync", path: temporary, code: code)
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw Error(operation: "rename", path: path, code: code)
        }
    }

    private static let temporaryCounter = Atomic<UInt64>(0)

    /// Appends `lines` (each ended by a newline) to `path`, created owner-only, and flushes them
    /// to the disk before returning; a new file's directory entry is flushed too, so an
    /// acknowledged append survives a power cut. For line-oriented files that must survive a
    /// crash: spools, journals, dead letters.
    public static func appendDurably(_ lines: [String], to path: String) throws(Error) {
        _ = try append(lines, to: path, flush: true)
    }

    /// Appends `lines` (each ended by a newline) to `path`, created owner-only. With `flush`,
    /// as `appendDurably`; without, the lines are in the page cache when this returns (a
    /// `kill -9` of the process cannot lose them, a power cut can until `flush(_:directoryToo:)`
    /// ran). Returns whether the file was created, i.e. whether its directory entry needs a
    /// flush too.
    @discardableResult
    public static func append(_ lines: [String], to path: String, flush: Bool) throws(Error) -> Bool {
        try append(bytes: Array((lines.joined(separator: "\n") + "\n").utf8), to: path, flush: flush)
    }

    /// `append(_:to:flush:)` of text already made UTF-8 bytes, whole lines (a spool writes a
    /// batch of records into one buffer).
    public static func append(bytes: [UInt8], to path: String, flush: Bool) throws(Error) -> Bool {
        let existed = exists(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, fileMode)
        guard fd >= 0 else { throw Error(operation: "open", path: path, code: errno) }
        do {
            try writeAll(bytes: bytes, to: fd, path: path)
        } catch {
            close(fd)
            throw error
        }
        if flush && fdatasync(fd) != 0 {
            let code = errno
            close(fd)
            throw Error(operation: "fdatasync", path: path, code: code)
        }
        close(fd)
        if flush && !existed { flushDirectory(of: path) }
        return !existed
    }

    /// Flushes what was appended to `path` to the disk (`fdatasync`), and with `directoryToo`
    /// the entry of a new file. A file that is gone is not an error: whoever removed it no
    /// longer needs its lines.
    public static func flush(_ path: String, directoryToo: Bool) throws(Error) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return }
            throw Error(operation: "open", path: path, code: errno)
        }
        if fdatasync(fd) != 0 {
            let code = errno
            close(fd)
            throw Error(operation: "fdatasync", path: path, code: code)
        }
        close(fd)
        if directoryToo { flushDirectory(of: path) }
    }

    private static func flushDirectory(of path: String) {
        guard let slash = path.lastIndex(of: "/") else { return }
        let dirfd = open(String(path[..<slash]), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }

    /// Names in `directory` (no `.` / `..`); empty when it cannot be read.
    public static func list(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether `name` is a temporary file of `writeAtomically` left by a process that is gone
    /// (killed between `open` and `rename`): `NAME.tmp.PID.N` with no process PID, or the
    /// `NAME.tmp` of earlier versions.
    public static func isStaleTemporary(_ name: String) -> Bool {
        if name.hasSuffix(".tmp") { return true }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[parts.count - 3] == "tmp", let pid = pid_t(parts[parts.count - 2]),
            UInt64(parts[parts.count - 1]) != nil
        else { return false }
        return pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Removes the stale temporaries (`isStaleTemporary`) in `directory`; returns how many.
    @discardableResult
    public static func removeStaleTemporaries(in directory: String) -> Int {
        var removed = 0
        for name in list(directory) where isStaleTemporary(name) {
            if unlink(directory + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }

    /// Writes all of `text` to `fd`, retrying short writes and `EINTR`; `path` names the
    /// destination in errors.
    public static func writeAll(_ text: String, to fd: Int32, path: String) throws(Error) {
        // From the string's own storage: no copy of its bytes (a policy book is megabytes).
        var text = text
        let code = text.withUTF8 { writeAll(UnsafeRawBufferPointer($0), to: fd) }
        if code != 0 { throw Error(operation: "write", path: path, code: code) }
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and `EINTR`.
    public static func writeAll(bytes: [UInt8], to fd: Int32, path: String) throws(Error) {
        let code = bytes.withUnsafeBytes { writeAll($0, to: fd) }
        if code != 0 { throw Error(operation: "write", path: path, code: code) }
    }

    /// Writes all of `buffer` to `fd`, retrying short writes and `EINTR`; `errno` of a failure, or 0.
    private static func writeAll(_ buffer: UnsafeRawBufferPointer, to fd: Int32) -> Int32 {
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += n
        }
        return 0
    }

    /// The current working directory.
    public static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
