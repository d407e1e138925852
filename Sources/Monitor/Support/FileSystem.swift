#if canImport(Glibc)
import Glibc
#endif

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
    }

    /// Reads a whole file as UTF-8 text.
    public static func readText(_ path: String) throws(Error) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Error(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw Error(operation: "read", path: path, code: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether a file (or directory) exists at `path`.
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Creates `path` and its parents (like `mkdir -p`).
    public static func makeDirectories(_ path: String) throws(Error) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw Error(operation: "mkdir", path: current, code: errno)
            }
        }
    }

    /// Writes `text` to `path` atomically: a temporary file, `fsync`, then `rename`.
    public static func writeAtomically(_ text: String, to path: String) throws(Error) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Error(operation: "open", path: temporary, code: errno) }
        do {
            try writeAll(text, to: fd, path: temporary)
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
        guard rename(temporary, path) == 0 else { throw Error(operation: "rename", path: path, code: errno) }
    }

    /// Writes all of `text` to `fd`, retrying short writes and `EINTR`; `path` names the
    /// destination in errors.
    public static func writeAll(_ text: String, to fd: Int32, path: String) throws(Error) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Error(operation: "write", path: path, code: errno)
            }
            offset += n
        }
    }

    /// The current working directory.
    public static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
